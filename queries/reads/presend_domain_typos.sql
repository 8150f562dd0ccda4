-- Per domain of $domains that is a likely typo of a major provider: the suggestion (int_domain_typos,
-- judged over the list's domains, not only the loaded ones).
select domain, suggestion
from int_domain_typos_for(cast($domains as varchar[]))
