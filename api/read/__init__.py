"""The read service: reports of both layers merged, Tableau exports, ad-hoc jobs."""
