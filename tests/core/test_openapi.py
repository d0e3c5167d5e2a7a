import pytest
import yaml
from django.core.management import call_command


@pytest.mark.django_db
def test_openapi_schema_is_valid_without_warnings_and_lists_the_auth_api(tmp_path):
    target = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))
    schema = yaml.safe_load(target.read_text())
    auth_paths = ["nonce", "login", "logout", "tokens", "tokens/{token_id}"]
    for path in [f"/api/v1/auth/{p}" for p in auth_paths] + ["/api/v1/me"]:
        assert path in schema["paths"], path
    assert schema["components"]["securitySchemes"]["apiToken"]["scheme"] == "bearer"
