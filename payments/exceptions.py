from marketplace.core.exceptions import ApplicationError


class SignInError(ApplicationError):
    """A Sign-In with Ethereum message or signature was refused. ``code`` says which check."""

    default_code = "sign_in_failed"
    status_code = 400


class SignatureError(SignInError):
    default_code = "bad_signature"
    status_code = 401


class ApiTokenError(ApplicationError):
    default_code = "invalid_token"
    status_code = 400


class BountyError(ApplicationError):
    default_code = "bounty_invalid"
    status_code = 400


class RewardError(ApplicationError):
    default_code = "reward_invalid"
    status_code = 409


class PayoutError(ApplicationError):
    default_code = "payout_invalid"
    status_code = 409


class LicenseError(ApplicationError):
    default_code = "license_invalid"
    status_code = 400


class PurchaseError(ApplicationError):
    default_code = "purchase_invalid"
    status_code = 400


class TokenError(ApplicationError):
    default_code = "token_invalid"
    status_code = 400
