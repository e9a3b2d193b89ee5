"""Level-up mentors: people who finished a first task and more are invited, once, to mentor
their project; an organizer approves them and they become mentors."""
