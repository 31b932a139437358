"""The model's mechanisms as small pure functions over customer arrays, one concept per module.

- :mod:`.experience`  experiences, incidents, complaints, price fairness -> satisfaction
- :mod:`.bonding`     satisfaction -> trust -> commitment -> bond (Verbundenheit); relationship phase
- :mod:`.attachment`  contracts, lock-in, economic barriers, no alternatives -> attachment (Gebundenheit);
  the bonded x attached classification
- :mod:`.choice`      consideration and the stay/switch/leave choice; background churn
- :mod:`.accounting`  margin and discounting for CLV
"""
