app_name = "dualqueue"
urlpatterns: list = []  # written by the adapter helper
