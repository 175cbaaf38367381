"""The console's pages, one module per screen; ``console/routes.py`` lists them."""
