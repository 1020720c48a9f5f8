"""Jupyter Book 1 always loads sphinx-thebe (live code through Binder), even with thebe off: it
adds its configuration script twice to every page ("THEBE_JS_URL has already been declared") and
a stylesheet. The course's book runs nothing live, so this extension unhooks sphinx-thebe."""

import sphinx_thebe


def setup(app):
    for event, handler in (("env-before-read-docs", sphinx_thebe.init_thebe_core),
                           ("doctree-resolved", sphinx_thebe.update_thebe_context)):
        for listener in list(app.events.listeners.get(event, [])):
            if listener.handler is handler:
                app.disconnect(listener.id)
    app.registry.css_files = [entry for entry in app.registry.css_files if entry[0] != "sphinx-thebe.css"]
    return {"parallel_read_safe": True, "parallel_write_safe": True}
