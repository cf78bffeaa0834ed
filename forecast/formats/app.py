"""The analyst workspace (Streamlit): `streamlit run app.py -- --model models/russia_iran.yaml`.

A thin shell: the page is drawn by forecast.ui.workspace.main, which calls the
same package API as the command line.  Options after `--`: --model PATH,
--evidence DIR, --scenarios DIR, --models DIR.
"""

import sys

from forecast.ui.workspace import main

main(sys.argv[1:])
