"""The project's URLs with the routing API operations included, as revops/urls.py will include them."""

from django.urls import include, path

from revops.urls import urlpatterns as project_urlpatterns

urlpatterns = [path("api/", include("routing.api.urls")), *project_urlpatterns]
