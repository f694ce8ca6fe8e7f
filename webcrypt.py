"""PyInstaller shim: the executable starts here."""
from webcrypt.main import main
raise SystemExit(main())
