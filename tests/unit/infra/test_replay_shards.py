from wharf.infra.replay import SHARDS
from wharf.projections.catalog import READ_MODELS


def test_every_read_model_is_rebuilt_by_exactly_one_replay_worker() -> None:
    names = sorted(name for shard in SHARDS for name in shard)
    assert names == sorted(model.name for model in READ_MODELS)
