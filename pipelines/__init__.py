"""The outside world and the warehouse (ARCHITECTURE.md). Loading the package registers the sentiment backend
that speaks HTTP, which models/ may not: ``remote`` (``pipelines/sources/inference.py``, imported when used)."""

from models.sentiment import BackendConfig, SentimentModel, register_backend


def _remote(config: BackendConfig) -> SentimentModel:
    from pipelines.sources.inference import remote_backend

    return remote_backend(config)


register_backend("remote", _remote)
