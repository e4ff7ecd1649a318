"""What citizens ask and how it went: feedback, and (staff) analytics of the question log."""
