"""One package per paper (DESIGN.md sections 1 and 2): ``configs`` -> ``runs`` -> ``analysis`` ->
{``plots``, ``claims``}. Importing a paper's package registers its experiments and claims;
:mod:`thermo.catalog` imports them all."""
