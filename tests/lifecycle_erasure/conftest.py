from tests.sdk_fixtures import clean_aibos_state

__all__ = ["clean_aibos_state"]
