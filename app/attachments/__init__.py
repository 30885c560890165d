"""Photos uploaded from grid workers' phones, checked by content, linked to tickets."""
