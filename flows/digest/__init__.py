"""The weekly digest: mentors' open cases, new mentees and stuck newcomers; organizers' funnel
week, coming events and dead letters; sent privately, off unless configured."""
