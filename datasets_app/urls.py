from django.urls import path

from datasets_app import views

app_name = "datasets"

urlpatterns = [
    path("", views.catalogue, name="catalogue"),
]
