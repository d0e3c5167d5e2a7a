from django.conf import settings
from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from marketplace.core import views as core_views

admin.site.site_header = "DataBounty administration"
admin.site.site_title = "DataBounty admin"

api_v1: list[URLPattern | URLResolver] = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path(
        "redoc/",
        SpectacularRedocView.as_view(url_name="schema", template_name="api/redoc.html"),
        name="api-redoc",
    ),
    path("", include("marketplace.accounts.api_urls")),
    path("", include("payments.api_urls")),
    path("", include("datasets_app.api_urls")),
]

handler400 = "marketplace.core.views.bad_request"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("healthz", core_views.healthz, name="healthz"),
    path("signin/", core_views.signin, name="signin"),
    path("signout/", core_views.signout, name="signout"),
    path("account/", core_views.account, name="account"),
    path("", include("marketplace.accounts.urls")),
    path("", include("payments.urls")),
    path("", include("datasets_app.urls")),
]

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
