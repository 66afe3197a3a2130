from setuptools import find_packages, setup


def read_version() -> str:
    namespace: dict = {}
    with open('l2t_mm/version.py') as f:
        exec(f.read(), namespace)
    return namespace['__version__']


def read_requirements() -> list:
    with open('requirements.txt') as f:
        lines = (line.split('#')[0].strip() for line in f)
        # Test and lint tools are for developers, not a runtime dependency.
        return [line for line in lines
                if line and not line.startswith(('pytest', 'flake8'))]


setup(
    name='l2t_mm',
    version=read_version(),
    description='Learning to Teach with Dynamic Loss Networks (L2T-DLN) '
    'for mmdetection 3.x and mmsegmentation 1.x',
    packages=find_packages(include=['l2t_mm', 'l2t_mm.*']),
    python_requires='>=3.9',
    install_requires=['torch>=2.1', 'mmcv>=2.1.0,<2.2.0'] +
    read_requirements(),
)
