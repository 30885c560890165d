"""The matrix (事项清单): 7 categories and their items, versioned, routing every ticket."""
