"""The ESG platform's apps: sites (Earth Engine analyses), accounts (password reset), documents (search index)."""
