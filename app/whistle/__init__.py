"""The whistle (吹哨) and report-ins (报到), the product's namesake: the street summons
departments to a ticket and each must report in by a deadline. Its tables are in
``app.sla.models`` (``Whistle``, ``WhistleSummons``)."""
