"""The ESG demo project: sites with Earth Engine analyses, accounts, documents, on dualqueue."""
