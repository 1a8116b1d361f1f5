"""The engine contracts (base.py: Engine, Executor) and their Docker implementation (docker.py,
docker_images.py: the only modules that import the docker SDK)."""
