"""Local groups and partnerships: groups near a person, joining their invite lists, and their
organizers' messages to members."""
