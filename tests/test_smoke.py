from tests.conftest import Env
from bastion.identity import principals


def test_admin_lists_principals(env: Env) -> None:
    names = [p.name for p in principals.list_principals(env.ws, env.admin)]
    assert names == ["admin"]
