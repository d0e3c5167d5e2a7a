from django.urls import path

from payments import views

urlpatterns = [
    path("account/tokens/", views.api_tokens, name="api-tokens"),
    path(
        "account/tokens/<int:token_id>/revoke", views.api_token_revoke_view, name="api-token-revoke"
    ),
    path("me/earnings/", views.earnings, name="earnings"),
    path("me/payouts/", views.payouts, name="payouts"),
    path("me/earnings/rewards/<int:reward_id>/", views.reward_receipt, name="reward-receipt"),
]
