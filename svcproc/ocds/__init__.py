"""Open Contracting Data Standard 1.1.5: releases, records and bulk files of the published procurement record."""
