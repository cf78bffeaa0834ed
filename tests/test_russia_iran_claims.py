"""One test per causal claim in the five source documents, named after the claim.

Each test sets hard evidence on the node the claim is about, at two states, and
asserts the DIRECTION the documents give for the effect on the outcomes (and on
the mechanism the claim runs through).  Sources are cited by the model's ids:
memri2017, kozhanov2017, ecfr2016, mei2017, reuters2018.  Claims are
paraphrased, never quoted.
"""

from pathlib import Path

import pytest

import forecast

MODEL_PATH = Path(__file__).resolve().parents[1] / "models" / "russia_iran.yaml"
OUTCOME = "relationship_outcome"
MARGINALISED = "iran_marginalised_in_syria"
ALLIANCE, MARRIAGE, RUPTURE = "strategic_alliance", "marriage_of_convenience", "rupture"
# A claimed mechanism must move its target by at least this much, not by rounding noise.
MATERIAL = 0.01


@pytest.fixture(scope="module")
def model():
    return forecast.load_model(MODEL_PATH)


def post(model, **hard):
    """{node: {state: probability}} for every node, given hard evidence."""
    out = {}
    for row in model.posteriors(hard=hard).itertuples():
        out.setdefault(row.node, {})[row.state] = row.probability
    return out


def compare(model, node, low, high):
    """Posteriors with `node` at state `low` and at state `high`."""
    return post(model, **{node: low}), post(model, **{node: high})


def total_variation(p, q):
    return 0.5 * sum(abs(p[s] - q[s]) for s in p)


# ------------------------------------------------------------------ Washington


def test_us_russia_detente_cools_russia_iran_ties(model):
    """ecfr2016, kozhanov2017, memri2017: until 2012 Moscow's ties with Tehran moved against its
    ties with Washington; a thaw with the US lowers the chance of an alliance and raises that of
    a rupture, step by step from no détente to a broad one."""
    none, limited, broad = (
        post(model, us_russia_detente=s)[OUTCOME] for s in ("none", "limited", "broad")
    )
    assert none[ALLIANCE] > limited[ALLIANCE] > broad[ALLIANCE]
    assert none[RUPTURE] < limited[RUPTURE] < broad[RUPTURE]


def test_us_russia_detente_is_the_strongest_influence_on_moscows_iran_policy(model):
    """ecfr2016: the state of Russia's engagement with the West is the biggest single influence on its
    Iran policy, ahead of the Gulf, Israel, Turkey and the battlefield."""

    def shift(node, a, b):
        pa, pb = compare(model, node, a, b)
        return total_variation(pa["russian_commitment_to_iran"], pb["russian_commitment_to_iran"])

    detente = shift("us_russia_detente", "none", "broad")
    others = {
        "russia_gcc_ties": shift("russia_gcc_ties", "strained", "close"),
        "israeli_pressure": shift("israeli_pressure", "low", "high"),
        "regime_military_position": shift("regime_military_position", "threatened", "stabilised"),
        "russia_turkey_alignment": shift("russia_turkey_alignment", "weak", "strong"),
        "us_pressure_on_iran": shift("us_pressure_on_iran", "low", "high"),
        "assad_question": shift("assad_question", "assad_stays", "negotiated_exit"),
    }
    for name, effect in others.items():
        assert detente > effect, name


def test_thaws_with_washington_froze_arms_sales_to_iran(model):
    """kozhanov2017, ecfr2016, reuters2018: the 1995 Gore–Chernomyrdin deal and the 2010 S-300 halt
    under the reset show Moscow freezing arms deals with Iran to improve ties with the US."""
    none, broad = compare(model, "us_russia_detente", "none", "broad")
    assert broad["arms_trade"]["frozen"] > none["arms_trade"]["frozen"]
    assert broad["arms_trade"]["expanding"] < none["arms_trade"]["expanding"]


def test_russia_uses_iran_as_a_bargaining_chip_with_washington(model):
    """memri2017: Moscow treats Iran as a chip to trade for sanctions relief; if Washington pays,
    Iran is sidelined in Syria and Russia's commitment to it drops."""
    none, broad = compare(model, "us_russia_detente", "none", "broad")
    assert broad[MARGINALISED]["yes"] > none[MARGINALISED]["yes"]
    assert broad["russian_commitment_to_iran"]["high"] < none["russian_commitment_to_iran"]["high"]
    assert broad["russian_commitment_to_iran"]["low"] > none["russian_commitment_to_iran"]["low"]


def test_tehran_fears_a_sell_out_when_moscow_warms_to_washington(model):
    """reuters2018, ecfr2016: Iran fears Russia would sell it out for better ties with the West (and
    was angered when Putin briefed Trump before Sochi), so it commits less to Moscow."""
    none, broad = compare(model, "us_russia_detente", "none", "broad")
    assert (
        broad["iranian_commitment_to_russia"]["high"] < none["iranian_commitment_to_russia"]["high"]
    )


def test_us_pressure_pushes_iran_towards_russia(model):
    """kozhanov2017, memri2017, ecfr2016: Trump's hostility drives Tehran towards Moscow (even to
    offering it an alliance) and strengthens the Russia-leaners; this favours closer ties."""
    low, high = compare(model, "us_pressure_on_iran", "low", "high")
    assert (
        high["iran_internal_balance"]["russia_leaners"]
        > low["iran_internal_balance"]["russia_leaners"]
    )
    assert (
        high["iranian_commitment_to_russia"]["high"] > low["iranian_commitment_to_russia"]["high"]
    )
    assert high[OUTCOME][ALLIANCE] > low[OUTCOME][ALLIANCE]
    assert high[OUTCOME][RUPTURE] < low[OUTCOME][RUPTURE]


def test_us_hostility_to_iran_lets_moscow_take_tehran_for_granted(model):
    """kozhanov2017, ecfr2016: with Trump's hostility pushing Iran its way Moscow feels no need to hurry
    (and it courted Tehran harder when the nuclear deal opened Iran to the West); nor will it back Iran
    in a hard anti-Western course.  US pressure raises Tehran's commitment but lowers Moscow's."""
    low, high = compare(model, "us_pressure_on_iran", "low", "high")
    assert (
        high["russian_commitment_to_iran"]["high"]
        < low["russian_commitment_to_iran"]["high"] - MATERIAL
    )
    assert (
        high["russian_commitment_to_iran"]["low"]
        > low["russian_commitment_to_iran"]["low"] + MATERIAL
    )
    assert (
        high["iranian_commitment_to_russia"]["high"] > low["iranian_commitment_to_russia"]["high"]
    )


def test_us_russia_tension_brings_iran_more_russian_military_help(model):
    """mei2017: Tehran uses friction between Moscow and Washington to press for more Russian military
    help in Syria; with no détente, close coordination on the ground is likelier than under a broad one."""
    none, broad = compare(model, "us_russia_detente", "none", "broad")
    assert none["military_coordination"]["close"] > broad["military_coordination"]["close"]


# ------------------------------------------------------------------ the Gulf, Israel, Turkey


def test_close_gulf_ties_make_an_alliance_with_iran_unaffordable(model):
    """kozhanov2017, ecfr2016, reuters2018: Moscow balances Tehran against Riyadh (oil prices, Gulf
    investment, its own Sunni Muslims); closer Gulf ties raise the cost of siding with Iran and
    lower the chance of an alliance."""
    strained, close = compare(model, "russia_gcc_ties", "strained", "close")
    assert close["balancing_cost"]["high"] > strained["balancing_cost"]["high"]
    assert (
        close["russian_commitment_to_iran"]["high"] < strained["russian_commitment_to_iran"]["high"]
    )
    assert close[OUTCOME][ALLIANCE] < strained[OUTCOME][ALLIANCE]
    assert close[OUTCOME][RUPTURE] > strained[OUTCOME][RUPTURE]


def test_iran_resents_russias_rapprochement_with_riyadh(model):
    """reuters2018, kozhanov2017: Tehran resents Moscow's courting of its Saudi rival, and Iranian
    outlets warned Russia could trade Damascus for Gulf money."""
    strained, close = compare(model, "russia_gcc_ties", "strained", "close")
    assert (
        close["iranian_commitment_to_russia"]["high"]
        < strained["iranian_commitment_to_russia"]["high"]
    )


def test_tehran_is_patient_about_russias_gulf_ties(model):
    """ecfr2016: Iran accepts that Russia must keep ties with the region's powers and trusts that Moscow still
    prefers it to the Saudi-backed rebels in Syria, so Moscow's Gulf ties weigh less on Tehran's commitment
    than a US–Russia thaw or the balance of Iran's own camps."""

    def shift(node, a, b):
        pa, pb = compare(model, node, a, b)
        return total_variation(
            pa["iranian_commitment_to_russia"], pb["iranian_commitment_to_russia"]
        )

    gulf = shift("russia_gcc_ties", "strained", "close")
    assert 0 < gulf < shift("us_russia_detente", "none", "broad")
    assert gulf < shift("iran_internal_balance", "russia_leaners", "rebalancers")


def test_israeli_pressure_strains_russia_iran_ties(model):
    """reuters2018, kozhanov2017, ecfr2016: Russia's close ties with Israel, and its opposition to Syria
    serving as a base against Israel, clash with Iran's aims; stronger Israeli pressure makes an
    alliance less and a rupture more likely."""
    low, high = compare(model, "israeli_pressure", "low", "high")
    assert high[OUTCOME][ALLIANCE] < low[OUTCOME][ALLIANCE]
    assert high[OUTCOME][RUPTURE] > low[OUTCOME][RUPTURE]
    assert high["balancing_cost"]["high"] > low["balancing_cost"]["high"]


def test_russia_opposes_syria_as_a_base_against_israel(model):
    """reuters2018, kozhanov2017: Putin restrains Assad and Hezbollah and wants a deal barring the use of
    Syria against its neighbours, which is at odds with Iran's plans for its militias; under Israeli
    pressure the militias are more likely contained and the end-state dispute sharper."""
    low, high = compare(model, "israeli_pressure", "low", "high")
    assert high["militia_entrenchment"]["entrenched"] < low["militia_entrenchment"]["entrenched"]
    assert high["syria_endstate_divergence"]["high"] > low["syria_endstate_divergence"]["high"]


def test_russia_limits_arms_to_iran_for_israels_sake(model):
    """ecfr2016: Russia sells arms to Iran with caveats owed to Israel's fear of weapons reaching
    Hezbollah; Iranian experts doubt Moscow will fill the shopping list."""
    low, high = compare(model, "israeli_pressure", "low", "high")
    assert high["arms_trade"]["expanding"] < low["arms_trade"]["expanding"]
    assert high["arms_trade"]["frozen"] > low["arms_trade"]["frozen"]


def test_russia_seeks_a_deal_barring_syria_as_a_base_against_neighbours(model):
    """reuters2018, kozhanov2017, ecfr2016: Moscow heeds Israel and wants an agreement that no foreign
    power uses Syria against a neighbour; even where Iran's militias have dug in, Israeli pressure
    raises the odds that Russia backs terms pushing Iran's forces back."""
    # every other parent of the outcome held fixed, so only the deal mechanism can act
    held = dict(
        militia_entrenchment="entrenched",
        us_russia_detente="limited",
        russia_turkey_alignment="strong",
        assad_question="assad_stays",
        russian_commitment_to_iran="medium",
    )
    low = post(model, israeli_pressure="low", **held)
    high = post(model, israeli_pressure="high", **held)
    assert high[MARGINALISED]["yes"] > low[MARGINALISED]["yes"] + MATERIAL


def test_russia_turkey_alignment_sidelines_iran(model):
    """memri2017, reuters2018: Moscow's deals with Ankara (East Aleppo, Antalya, Sochi) are made over
    Iran's head, and Tehran sees them as undermining its interests in Syria."""
    weak, strong = compare(model, "russia_turkey_alignment", "weak", "strong")
    assert strong[MARGINALISED]["yes"] > weak[MARGINALISED]["yes"]
    assert (
        strong["iranian_commitment_to_russia"]["high"]
        < weak["iranian_commitment_to_russia"]["high"]
    )
    assert strong[OUTCOME][RUPTURE] > weak[OUTCOME][RUPTURE]


def test_russia_and_turkey_push_iranian_militias_back(model):
    """memri2017: in step with Turkey, Russia moved to expel Shia militias from ceasefire areas
    (East Aleppo, Homs, around Damascus)."""
    weak, strong = compare(model, "russia_turkey_alignment", "weak", "strong")
    assert strong["militia_entrenchment"]["entrenched"] < weak["militia_entrenchment"]["entrenched"]


def test_closeness_to_ankara_cools_moscow_on_kurdish_federalism(model):
    """ecfr2016: Russia's Kurdish ties are leverage over Ankara, and Moscow knows federalism would
    hurt its ties with Turkey (and Iran and Iraq)."""
    weak, strong = compare(model, "russia_turkey_alignment", "weak", "strong")
    assert strong["kurdish_question"]["federalised"] < weak["kurdish_question"]["federalised"]


# ------------------------------------------------------------------ Syria's end state


def test_assad_exit_crosses_irans_red_line(model):
    """kozhanov2017, ecfr2016, reuters2018, mei2017: Assad's survival is Iran's red line, while Russia
    separates the state from Assad and could accept a managed exit; an agreed exit sharpens the
    end-state dispute, cools Tehran and makes a rupture more likely."""
    stays, exit_ = compare(model, "assad_question", "assad_stays", "negotiated_exit")
    assert exit_["syria_endstate_divergence"]["high"] > stays["syria_endstate_divergence"]["high"]
    assert (
        exit_["iranian_commitment_to_russia"]["high"]
        < stays["iranian_commitment_to_russia"]["high"]
    )
    assert exit_[OUTCOME][RUPTURE] > stays[OUTCOME][RUPTURE]
    assert exit_[OUTCOME][ALLIANCE] < stays[OUTCOME][ALLIANCE]


def test_russia_separates_the_syrian_state_from_assad(model):
    """kozhanov2017, reuters2018, ecfr2016: Moscow's priority is the Syrian state, not Assad in person, and
    it could live with a managed exit; for Tehran his survival is the red line.  An agreed exit cuts
    Iran's commitment to the partnership far more than Russia's."""
    stays, exit_ = compare(model, "assad_question", "assad_stays", "negotiated_exit")
    iran_shift = total_variation(
        stays["iranian_commitment_to_russia"], exit_["iranian_commitment_to_russia"]
    )
    russia_shift = total_variation(
        stays["russian_commitment_to_iran"], exit_["russian_commitment_to_iran"]
    )
    assert (
        exit_["iranian_commitment_to_russia"]["high"]
        < stays["iranian_commitment_to_russia"]["high"] - MATERIAL
    )
    assert iran_shift > russia_shift + MATERIAL


def test_assad_exit_threatens_irans_corridor_and_place_in_syria(model):
    """reuters2018, kozhanov2017: Iran needs Assad for its supply line to Hezbollah and its land
    corridor, which a new government might not allow; an exit weakens its militias and raises the
    chance that Iran is pushed out."""
    stays, exit_ = compare(model, "assad_question", "assad_stays", "negotiated_exit")
    assert exit_["militia_entrenchment"]["entrenched"] < stays["militia_entrenchment"]["entrenched"]
    assert exit_[MARGINALISED]["yes"] > stays[MARGINALISED]["yes"]


def test_threatened_regime_binds_moscow_and_tehran_together(model):
    """ecfr2016, kozhanov2017: when the regime is on the back foot (Aleppo 2016) the two coordinate
    closely and counter-escalate together; the partnership was born of the need to save it."""
    threatened, stabilised = compare(model, "regime_military_position", "threatened", "stabilised")
    assert (
        threatened["military_coordination"]["close"] > stabilised["military_coordination"]["close"]
    )
    assert (
        threatened["russian_commitment_to_iran"]["high"]
        > stabilised["russian_commitment_to_iran"]["high"]
    )
    assert threatened[OUTCOME][ALLIANCE] > stabilised[OUTCOME][ALLIANCE]
    assert threatened[OUTCOME][RUPTURE] < stabilised[OUTCOME][RUPTURE]


def test_regime_in_danger_makes_tehran_lean_on_moscow(model):
    """kozhanov2017, ecfr2016: by 2015 Iran's resources were stretched and could not save Assad alone, so
    Tehran urged Russia in and welcomed its air power; when the regime is threatened Iran's commitment
    to the partnership rises."""
    threatened, stabilised = compare(model, "regime_military_position", "threatened", "stabilised")
    assert (
        threatened["iranian_commitment_to_russia"]["high"]
        > stabilised["iranian_commitment_to_russia"]["high"] + MATERIAL
    )
    assert (
        threatened["iranian_commitment_to_russia"]["low"]
        < stabilised["iranian_commitment_to_russia"]["low"] - MATERIAL
    )


def test_stabilisation_revives_the_postponed_disputes(model):
    """kozhanov2017, ecfr2016, reuters2018: the disputes over Assad and Iran's use of Syria were only
    postponed; once the state is saved (and Islamic State ousted) they return."""
    threatened, stabilised = compare(model, "regime_military_position", "threatened", "stabilised")
    assert (
        stabilised["syria_endstate_divergence"]["high"]
        > threatened["syria_endstate_divergence"]["high"]
    )


def test_kurdish_federalism_divides_moscow_and_tehran(model):
    """ecfr2016, kozhanov2017: Iran rejects federalism for Syria's Kurds while Moscow is open to
    decentralisation; the two may not agree on Kurdish rights or Syria's form of government."""
    central, federal = compare(model, "kurdish_question", "centralised", "federalised")
    assert (
        federal["syria_endstate_divergence"]["high"] > central["syria_endstate_divergence"]["high"]
    )
    assert federal[OUTCOME][RUPTURE] > central[OUTCOME][RUPTURE]


def test_militia_entrenchment_divides_moscow_and_tehran(model):
    """reuters2018, ecfr2016: the IRGC wants Hezbollah-style forces in Syria, Moscow a strong state
    with the militias under army control; entrenched militias sharpen the dispute."""
    contained, entrenched = compare(model, "militia_entrenchment", "contained", "entrenched")
    assert (
        entrenched["syria_endstate_divergence"]["high"]
        > contained["syria_endstate_divergence"]["high"]
    )
    assert entrenched[OUTCOME][RUPTURE] > contained[OUTCOME][RUPTURE]


def test_irans_grip_on_the_ground_resists_marginalisation(model):
    """mei2017, kozhanov2017, ecfr2016: Iran dominates the ground, can spoil Russian ceasefires and
    must consent to any deal, so entrenched Iranian forces make its exclusion less likely."""
    contained, entrenched = compare(model, "militia_entrenchment", "contained", "entrenched")
    assert entrenched[MARGINALISED]["yes"] < contained[MARGINALISED]["yes"]


def test_moscow_needs_iran_for_the_political_track(model):
    """kozhanov2017: Russia cannot secure its aims in Syria alone and its Astana ceasefires and
    de-escalation zones rest on Iran's consent; a Moscow committed to the partnership keeps Iran in
    the settlement, one that treats Iran as expendable is likelier to push it out."""
    low, high = compare(model, "russian_commitment_to_iran", "low", "high")
    assert high[MARGINALISED]["yes"] < low[MARGINALISED]["yes"]


def test_moscow_may_block_irans_gas_pipeline_across_syria(model):
    """kozhanov2017: Russia's weight in Syria after the war could obstruct Iran's regional plans,
    among them a gas pipeline to the Mediterranean that would compete with Russian gas; acute gas
    rivalry sharpens the end-state dispute and makes a rupture likelier."""
    muted, acute = compare(model, "energy_competition", "muted", "acute")
    assert (
        acute["syria_endstate_divergence"]["high"]
        > muted["syria_endstate_divergence"]["high"] + MATERIAL
    )
    assert acute[OUTCOME][RUPTURE] > muted[OUTCOME][RUPTURE]


# ------------------------------------------------------------------ Tehran's hedging


def test_historical_mistrust_strengthens_the_rebalancers(model):
    """reuters2018, ecfr2016, memri2017: centuries of conflict, Soviet backing for Iraq and Russian
    votes for sanctions feed Iranian distrust, the re-balancers' case, and the cracks."""
    contained, salient = compare(model, "historical_mistrust", "contained", "salient")
    assert (
        salient["iran_internal_balance"]["rebalancers"]
        > contained["iran_internal_balance"]["rebalancers"]
    )
    assert salient[OUTCOME][ALLIANCE] < contained[OUTCOME][ALLIANCE]
    assert salient[OUTCOME][RUPTURE] > contained[OUTCOME][RUPTURE]


def test_gas_rivalry_strengthens_the_rebalancers(model):
    """ecfr2016, kozhanov2017: Russia and Iran compete in gas (Gazprom in Armenia, the Iran–Iraq–Syria
    pipeline); the rivalry makes Tehran wary of a Russian tilt."""
    muted, acute = compare(model, "energy_competition", "muted", "acute")
    assert (
        acute["iran_internal_balance"]["rebalancers"]
        > muted["iran_internal_balance"]["rebalancers"]
    )
    assert acute[OUTCOME][ALLIANCE] < muted[OUTCOME][ALLIANCE]


def test_sanctions_relief_sharpens_gas_rivalry(model):
    """ecfr2016: with sanctions eased after the nuclear deal, Iran's gas ambitions and Gazprom's moves
    put the two in competition; renewed US pressure mutes it."""
    low, high = compare(model, "us_pressure_on_iran", "low", "high")
    assert high["energy_competition"]["acute"] < low["energy_competition"]["acute"]


def test_russian_arms_strengthen_the_russia_leaners(model):
    """ecfr2016: the Russia-leaners see the arms trade as the core of the ties, while the drip-feed
    of the S-300s humiliated Iranians and argues for diversifying suppliers."""
    frozen, expanding = compare(model, "arms_trade", "frozen", "expanding")
    assert (
        expanding["iran_internal_balance"]["russia_leaners"]
        > frozen["iran_internal_balance"]["russia_leaners"]
    )
    assert expanding[OUTCOME][ALLIANCE] > frozen[OUTCOME][ALLIANCE]


def test_rebalancers_in_charge_cool_tehran_on_moscow(model):
    """ecfr2016: the camps differ on how far to tie Iran to Russia; with the re-balancers setting the
    line, Tehran hedges and an alliance becomes less likely."""
    leaners, rebalancers = compare(model, "iran_internal_balance", "russia_leaners", "rebalancers")
    assert (
        rebalancers["iranian_commitment_to_russia"]["high"]
        < leaners["iranian_commitment_to_russia"]["high"]
    )
    assert rebalancers[OUTCOME][ALLIANCE] < leaners[OUTCOME][ALLIANCE]
    assert rebalancers[OUTCOME][RUPTURE] > leaners[OUTCOME][RUPTURE]


# ------------------------------------------------------------------ the partnership itself


def test_balancing_cost_keeps_moscow_at_arms_length(model):
    """kozhanov2017, ecfr2016: an alliance with Tehran would wreck Russia's balancing between the region's
    players and its image in the Sunni world, so Moscow keeps the ties low-profile."""
    low, high = compare(model, "balancing_cost", "low", "high")
    assert high["russian_commitment_to_iran"]["high"] < low["russian_commitment_to_iran"]["high"]
    assert high[OUTCOME][ALLIANCE] < low[OUTCOME][ALLIANCE]


def test_iranian_eagerness_alone_does_not_make_an_alliance(model):
    """memri2017, ecfr2016, kozhanov2017: Iran's Russia-leaners push for (and Tehran has debated offering)
    a strategic alliance, but Moscow's reservations bind; only when both capitals are committed does
    an alliance become a real possibility."""
    iran_only = post(
        model, iranian_commitment_to_russia="high", russian_commitment_to_iran="medium"
    )[OUTCOME]
    both = post(model, iranian_commitment_to_russia="high", russian_commitment_to_iran="high")[
        OUTCOME
    ]
    assert iran_only[ALLIANCE] < 0.25
    assert max(iran_only, key=iran_only.get) == MARRIAGE
    assert both[ALLIANCE] > 2 * iran_only[ALLIANCE]


def test_close_military_coordination_signals_a_deeper_partnership(model):
    """ecfr2016, kozhanov2017: joint operations and the Hamedan flights showed deepening ties, while
    the missing air cover at Khan Tuman showed their limits; observing close coordination should
    raise the odds of an alliance and lower those of a rupture."""
    patchy, close = compare(model, "military_coordination", "patchy", "close")
    assert (
        close["russian_commitment_to_iran"]["high"] > patchy["russian_commitment_to_iran"]["high"]
    )
    assert close[OUTCOME][ALLIANCE] > patchy[OUTCOME][ALLIANCE]
    assert close[OUTCOME][RUPTURE] < patchy[OUTCOME][RUPTURE]


def test_open_end_state_dispute_strains_the_partnership(model):
    """kozhanov2017, ecfr2016, reuters2018: the future of post-war Syria is the serious challenge to the
    partnership; an open dispute makes a rupture more, and an alliance less, likely."""
    low, high = compare(model, "syria_endstate_divergence", "low", "high")
    assert high[OUTCOME][RUPTURE] > low[OUTCOME][RUPTURE]
    assert high[OUTCOME][ALLIANCE] < low[OUTCOME][ALLIANCE]


def test_no_single_driver_makes_an_alliance_likely(model):
    """kozhanov2017, ecfr2016, reuters2018: whatever one driver does, the partnership stays a marriage of
    convenience; a full alliance remains unlikely."""
    for driver in model.nodes_with_role("driver"):
        for state in model.states(driver):
            out = post(model, **{driver: state})[OUTCOME]
            assert max(out, key=out.get) == MARRIAGE, (driver, state)
            assert out[ALLIANCE] < 0.25, (driver, state)


def test_the_partnership_has_reached_its_ceiling(model):
    """kozhanov2017: the dialogue between Moscow and Tehran has gone as far as it can; even with
    every driver set in an alliance's favour, the marriage of convenience remains likelier."""
    best = post(
        model,
        us_russia_detente="none",
        russia_gcc_ties="strained",
        assad_question="assad_stays",
        israeli_pressure="low",
        us_pressure_on_iran="high",
        regime_military_position="threatened",
        historical_mistrust="contained",
    )[OUTCOME]
    baseline = post(model)[OUTCOME]
    assert best[ALLIANCE] > baseline[ALLIANCE]
    assert best[MARRIAGE] > best[ALLIANCE]


def test_worst_case_still_leaves_rupture_short_of_certain(model):
    """kozhanov2017, ecfr2016: strong shared drivers keep the dialogue going even under strain; with every
    driver against it a rupture becomes the main risk but is not a foregone conclusion."""
    worst = post(
        model,
        us_russia_detente="broad",
        russia_gcc_ties="close",
        assad_question="negotiated_exit",
        israeli_pressure="high",
        us_pressure_on_iran="low",
        regime_military_position="stabilised",
        historical_mistrust="salient",
    )[OUTCOME]
    baseline = post(model)[OUTCOME]
    assert worst[RUPTURE] > 2 * baseline[RUPTURE]
    assert worst[RUPTURE] < 0.8
    assert worst[ALLIANCE] < 0.05
