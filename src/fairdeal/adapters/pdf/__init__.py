"""PDF rendering: WeasyPrint over Jinja2 HTML templates (templates/). Used for the case file."""
