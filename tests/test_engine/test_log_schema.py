"""The log schema names what the teach step reports, and one rule decides
whether a log row holds a teach step."""
import dataclasses

from mmengine.logging import MessageHub

from l2t_mm.engine.log_schema import (TEACH_RESULTS, TEACH_STEPS,
                                      WARMUP_SECONDS, add_to_total, hub_key,
                                      log_noise_auc, measured_key, taught_in,
                                      teach_result_key, weight_key,
                                      WEIGHT_KEY)
from l2t_mm.engine.teach_step import TeachResult


def test_every_logged_result_is_a_teach_result_field():
    fields = {field.name for field in dataclasses.fields(TeachResult)}
    assert set(TEACH_RESULTS) <= fields
    assert teach_result_key('meta_grad_norm') == 'l2t/meta_grad_norm'


def test_measured_counts_have_keys_of_their_own():
    assert measured_key('l2t/noise_auc/decode_head.loss_decode') == \
        'l2t/measured/noise_auc/decode_head.loss_decode'
    assert measured_key('l2t/noise_auc_within/x') == \
        'l2t/measured/noise_auc_within/x'


def test_measured_counts_go_on_through_a_resumed_message_hub():
    key, other = ('l2t/noise_auc/decode_head.loss_decode',
                  'l2t/noise_auc/other')

    def count(message_hub, name):
        return message_hub.get_scalar(hub_key(measured_key(name))).current()

    hub = MessageHub('l2t_schema_counts')
    log_noise_auc(hub, key, 0.25)
    assert count(hub, key) == 1  # a fresh run starts at 1
    for auc in (0.5, 0.75):
        log_noise_auc(hub, key, auc)
    log_noise_auc(hub, other, 0.9)
    assert (count(hub, key), count(hub, other)) == (3, 1)
    assert hub.get_scalar(hub_key(key)).current() == 0.75
    # What a checkpoint carries and a resume loads into a new hub.
    resumed = MessageHub('l2t_schema_counts_resumed')
    resumed.load_state_dict(hub.state_dict())
    log_noise_auc(resumed, key, 0.5)
    assert count(resumed, key) == 4


def test_a_running_total_goes_on_through_a_resumed_message_hub():
    key = hub_key(WARMUP_SECONDS)
    hub = MessageHub('l2t_schema_total')
    for seconds in (0.25, 0.5):
        add_to_total(hub, key, seconds)
    assert hub.get_scalar(key).current() == 0.75
    resumed = MessageHub('l2t_schema_total_resumed')
    resumed.load_state_dict(hub.state_dict())
    add_to_total(resumed, key, 1.0)
    assert resumed.get_scalar(key).current() == 1.75


def test_weight_keys_parse_back_to_module_and_statistic():
    match = WEIGHT_KEY.match(weight_key('bbox_head.loss_cls', 'mean'))
    assert (match['module'], match['stat']) == ('bbox_head.loss_cls', 'mean')


def test_a_row_holds_a_teach_step_only_when_the_count_advanced():
    assert taught_in({TEACH_STEPS: 3}, 2) == 3
    assert taught_in({TEACH_STEPS: 3}, 3) is None  # repeated from before
    assert taught_in({'loss': 1.0}, 3) is None  # no teach scalars yet
