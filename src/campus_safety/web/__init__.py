"""What every app's list pages share: paging, sorting and htmx partials (``listing``),
and the registries' spreadsheet downloads (``spreadsheet_views``: import templates and
audited list exports). No models, no domain rules."""
