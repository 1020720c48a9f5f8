"""Scripts a hostile submission displays in its outputs and writes into its written answer, for
tests/test_hostile.py (what is stored) and tests/test_browser.py (what a browser runs). Each
payload, if it ran, would set the page's title to its number."""

import textwrap

OUTPUTS = textwrap.dedent("""
    from IPython.display import HTML, Javascript, SVG, Markdown, display
    display(HTML('<img src=x onerror="document.title = 101">'))
    display(Javascript("document.title = 102"))
    display(SVG('<svg xmlns="http://www.w3.org/2000/svg" onload="document.title = 103"><script>document.title = 104</script></svg>'))
    display(Markdown('<img src=x onerror="document.title = 105">'))
    display({"text/html": "<script>document.title = 106</script>"}, raw=True)
    display({"image/png": 'x" onerror="document.title = 107'}, raw=True)
    display({"application/vnd.jupyter.widget-view+json": {"model_id": "x"}, "text/html": "<script>document.title = 108</script>"}, raw=True)
""")
ANSWER = ('My answer <script>document.title = 109</script> <img src=x onerror="document.title = 110"> '
          '[a link](javascript:document.title=111) <iframe srcdoc="<script>parent.document.title = 112</script>"></iframe> '
          '<svg onload="document.title = 113"></svg> '
          # script links a Markdown renderer decodes from entities (issue 26): clicked by tests/test_browser.py
          "[click 114](java&#x73;cript:document.title=114) [click 115](javascript&colon;document.title=115) "
          "[click 116][ref] ![click 117](data:image/svg+xml,<svg onload=document.title=117>)\n\n"
          "[ref]: &#106;avascript:document.title=116")
PAYLOAD_TITLES = {str(n) for n in range(101, 118)}
CLICKS = ("click 114", "click 115", "click 116")  # texts of the links a browser test clicks


def plant(nb, answer):
    """``nb`` with the outputs' payloads in front of the code cell ``answer`` and the written
    answer (the Markdown solution cell) replaced by ANSWER."""
    answer.source = OUTPUTS + "\n" + answer.source
    written = next(c for c in nb.cells if c.cell_type == "markdown" and c.metadata.get("nbgrader", {}).get("solution"))
    written.source = ANSWER
    return nb
