_instruments = ("crewai >= 1.15",)
