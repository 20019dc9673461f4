from bastion.identity import principals
from tests.conftest import Env


def test_admin_lists_principals(env: Env) -> None:
    names = [p.name for p in principals.list_principals(env.ws, env.admin)]
    assert names == ["admin"]
