import pytest
import yaml
from django.core.management import call_command


@pytest.mark.django_db
def test_openapi_schema_is_valid_without_warnings_and_lists_the_auth_api(tmp_path):
    target = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))
    schema = yaml.safe_load(target.read_text())
    for path in ("/api/v1/auth/nonce", "/api/v1/auth/login", "/api/v1/auth/logout",
                 "/api/v1/auth/tokens", "/api/v1/auth/tokens/{token_id}", "/api/v1/me"):  # fmt: skip
        assert path in schema["paths"], path
    assert schema["components"]["securitySchemes"]["apiToken"]["scheme"] == "bearer"
