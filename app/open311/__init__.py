"""Open311 GeoReport v2 (the civic-reporting standard) over the matrix and tickets."""
