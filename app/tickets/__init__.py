"""Tickets (案件): posting, routing by the matrix, the workflow and the timeline."""
