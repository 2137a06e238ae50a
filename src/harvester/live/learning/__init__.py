"""The Python brain's learning loop: experience buffer, attribution rules, shadows, conviction."""
