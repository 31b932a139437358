"""The model's mechanisms as small compiled rules over one customer, one concept per module.

- :mod:`.experience`  experiences, incidents, complaints, price fairness -> satisfaction
- :mod:`.bonding`     satisfaction -> trust -> commitment -> bond (Verbundenheit); relationship phase
- :mod:`.attachment`  contracts, lock-in, economic barriers, no alternatives -> attachment (Gebundenheit);
  the bonded x attached classification
- :mod:`.choice`      consideration and the stay/switch/leave choice; background churn

Money (margin, costs, CLV) is in :mod:`sim.books`; the per-customer period that applies these rules in
order is :mod:`sim.kernel`.
"""
