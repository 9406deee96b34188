"""Forms, one module per area (`dashboard.forms.credentials`, ...)."""
