from marketplace.core.exceptions import ApplicationError


class SignInError(ApplicationError, code="sign_in_failed"):
    """A Sign-In with Ethereum message or signature was refused. ``code`` says which check."""


class SignatureError(SignInError, code="bad_signature", status_code=401): ...


class ApiTokenError(ApplicationError, code="invalid_token"): ...
