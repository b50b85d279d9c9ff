"""The desktop app (the only Qt code). Entry point: ``gis-screening-app`` → :func:`gis_screening.app.main.main`."""
