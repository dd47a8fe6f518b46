"""The web page's files: Jinja2 templates (``templates/``) and the script it loads (``static/``).

Package data only: :mod:`service.render.html` renders the templates (the saved page of
``--output html`` and the page ``threadsum serve`` answers at ``/``), and
:mod:`service.http.routes.web` serves the static files.
"""
