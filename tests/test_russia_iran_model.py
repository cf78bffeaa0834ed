"""The Russia–Iran model: its contract, provenance, baseline, dated evidence items and scenarios.

The claims the documents make are tested one by one in test_russia_iran_claims.py;
this file checks that the model file, the evidence items and the scenarios are
complete, traceable and usable.
"""

import datetime as dt
import re
from pathlib import Path

import pytest

import forecast

ROOT = Path(__file__).resolve().parents[1]
MODEL_PATH = ROOT / "models" / "russia_iran.yaml"
EVIDENCE = ROOT / "evidence"
SCENARIOS = EVIDENCE / "scenarios"
OUTCOME = "relationship_outcome"
MARGINALISED = "iran_marginalised_in_syria"

# The product's contract (DOMAIN.md): these ids, these states in this order, these roles.
CONTRACT = {
    "us_russia_detente": (["none", "limited", "broad"], "driver"),
    "russia_gcc_ties": (["strained", "working", "close"], "driver"),
    "assad_question": (["assad_stays", "negotiated_exit"], "driver"),
    "israeli_pressure": (["low", "high"], "driver"),
    "us_pressure_on_iran": (["low", "high"], "driver"),
    "regime_military_position": (["threatened", "stabilised"], "driver"),
    "russia_turkey_alignment": (["weak", "strong"], "driver"),
    "relationship_outcome": (
        ["strategic_alliance", "marriage_of_convenience", "rupture"],
        "outcome",
    ),
    "iran_marginalised_in_syria": (["no", "yes"], "outcome"),
}
OUTCOME_IDS = [n for n, (_, role) in CONTRACT.items() if role == "outcome"]
BRIEF_DRIVERS = ["us_russia_detente", "russia_gcc_ties", "assad_question", "israeli_pressure"]

# The thirteen dated events DOMAIN.md lists, by the id of the item that records each.
DOMAIN_EVENTS = {
    "e2015_09_30_russian_intervention": dt.date(2015, 9, 30),
    "e2015_11_23_khamenei_putin_meeting": dt.date(2015, 11, 23),
    "e2016_03_14_partial_withdrawal": dt.date(2016, 3, 14),
    "e2016_05_07_khan_tuman_setback": dt.date(2016, 5, 7),
    "e2016_08_16_hamedan_episode": dt.date(2016, 8, 16),
    "e2016_12_east_aleppo_ceasefire": dt.date(2016, 12, 1),
    "e2017_01_astana_talks": dt.date(2017, 1, 1),
    "e2017_03_07_antalya_meeting": dt.date(2017, 3, 7),
    "e2017_03_28_rouhani_in_moscow": dt.date(2017, 3, 28),
    "e2017_04_07_us_strikes_after_khan_sheikhoun": dt.date(2017, 4, 7),
    "e2017_04_14_trilateral_fm_meeting": dt.date(2017, 4, 14),
    "e2017_11_01_putin_visits_tehran": dt.date(2017, 11, 1),
    "e2017_11_22_sochi_summit": dt.date(2017, 11, 22),
}


@pytest.fixture(scope="module")
def model():
    return forecast.load_model(MODEL_PATH)


@pytest.fixture(scope="module")
def spec(model):
    return model.spec


@pytest.fixture(scope="module")
def items():
    return forecast.load_evidence(EVIDENCE)


@pytest.fixture(scope="module")
def scenario_files():
    return sorted(SCENARIOS.glob("*.yaml"))


@pytest.fixture(scope="module")
def baseline(model):
    return table(model.posteriors())


def table(df):
    """{node: {state: probability}} from a posteriors DataFrame."""
    out = {}
    for row in df.itertuples():
        out.setdefault(row.node, {})[row.state] = row.probability
    return out


def ancestors(model, node):
    seen, stack = set(), list(model.parents(node))
    while stack:
        p = stack.pop()
        if p not in seen:
            seen.add(p)
            stack.extend(model.parents(p))
    return seen


# ------------------------------------------------------------------ contract and metadata


def test_model_id_title_and_as_of_date(spec):
    assert spec.id == "russia_iran"
    assert spec.title
    assert dt.date(2018, 1, 1) <= spec.as_of <= dt.date(2018, 6, 30)


def test_question_horizon_is_two_years_after_as_of(spec):
    horizon = dt.date.fromisoformat(spec.question.horizon)
    assert horizon == spec.as_of.replace(year=spec.as_of.year + 2)
    assert str(horizon.year) in spec.question.text


@pytest.mark.parametrize("node_id", list(CONTRACT))
def test_contract_node_has_fixed_states_in_order_and_role(model, node_id):
    states, role = CONTRACT[node_id]
    assert model.states(node_id) == states
    assert model.node(node_id).role == role


def test_outcome_nodes_are_exactly_the_contract_outcomes(model):
    assert sorted(model.nodes_with_role("outcome")) == sorted(OUTCOME_IDS)


def test_node_count_is_between_15_and_45(model):
    assert 15 <= len(model.nodes) <= 45


def test_node_ids_are_snake_case_and_roles_are_known(spec):
    for node in spec.nodes:
        assert re.fullmatch(r"[a-z][a-z0-9]*(_[a-z0-9]+)*", node.id), node.id
        assert node.role in ("driver", "intermediate", "outcome")


# The one driver with parents: Assad's exit depends on Iran's veto on the ground (the
# militias) and on US-Russian understanding (ECFR, MEI; review claim 45).
DRIVERS_WITH_PARENTS = {"assad_question": {"militia_entrenchment", "us_russia_detente"}}


def test_drivers_are_root_nodes_and_mechanisms_are_not(spec):
    for node in spec.nodes:
        if node.role == "driver":
            assert set(node.parents) == DRIVERS_WITH_PARENTS.get(node.id, set()), node.id
        else:
            assert node.parents, f"{node.role} {node.id} has no parents"


def test_model_has_intermediate_mechanisms(model):
    assert len(model.nodes_with_role("intermediate")) >= 6


# ------------------------------------------------------------------ provenance


def test_every_node_has_label_description_sources_and_rationale(spec):
    for node in spec.nodes:
        assert node.label, node.id
        assert len(node.description) > 30, node.id
        assert node.sources, f"{node.id} names no source"
        assert len(node.rationale) > 60, f"{node.id}: rationale too thin"


def test_every_source_has_title_author_and_date(spec):
    assert {s.id for s in spec.sources} == {
        "memri2017",
        "kozhanov2017",
        "ecfr2016",
        "mei2017",
        "reuters2018",
    }
    for source in spec.sources:
        assert source.title and source.author and source.date, source.id


def test_every_node_source_id_resolves(spec):
    known = {s.id for s in spec.sources}
    for node in spec.nodes:
        assert set(node.sources) <= known, node.id


def test_every_source_is_used_by_some_node(spec):
    used = {s for node in spec.nodes for s in node.sources}
    assert used == {s.id for s in spec.sources}


def test_rationales_say_where_numbers_come_from(spec):
    """Where a document gives only a direction, the rationale must say the number is ours."""
    for node in spec.nodes:
        text = node.rationale.lower()
        assert "ours" in text or "by choice" in text or "no number" in text, node.id


def test_resolution_criteria_for_every_outcome_state(model, spec):
    resolution = spec.question.resolution
    assert set(resolution) == set(OUTCOME_IDS)
    for node in OUTCOME_IDS:
        assert set(resolution[node]) == set(model.states(node))
        for state, criterion in resolution[node].items():
            assert len(criterion) > 80, f"{node}={state}: criterion too vague"


# ------------------------------------------------------------------ structure and baseline


@pytest.mark.parametrize("driver", BRIEF_DRIVERS)
def test_brief_drivers_feed_the_relationship_outcome(model, driver):
    assert driver in ancestors(model, OUTCOME)


@pytest.mark.parametrize("driver", [n for n, (_, role) in CONTRACT.items() if role == "driver"])
def test_every_contract_driver_moves_the_relationship_outcome(model, driver):
    states = model.states(driver)
    low = table(model.posteriors(hard={driver: states[0]}, targets=[OUTCOME]))[OUTCOME]
    high = table(model.posteriors(hard={driver: states[-1]}, targets=[OUTCOME]))[OUTCOME]
    assert max(abs(low[s] - high[s]) for s in low) > 0.02


def test_baseline_probabilities_are_distributions(baseline, model):
    assert set(baseline) == set(model.nodes)
    for node, dist in baseline.items():
        assert list(dist) == model.states(node)
        assert sum(dist.values()) == pytest.approx(1.0, abs=1e-9)


def test_baseline_marriage_of_convenience_is_clearly_most_likely(baseline):
    """The documents' consensus: a limited, watchful partnership; an alliance unlikely; a rupture possible."""
    out = baseline[OUTCOME]
    assert out["marriage_of_convenience"] > 0.6
    assert out["marriage_of_convenience"] > 3 * max(out["strategic_alliance"], out["rupture"])
    assert out["strategic_alliance"] < 0.2
    assert 0.05 < out["rupture"] < 0.35


def test_baseline_marginalisation_is_possible_but_not_likely(baseline):
    """MEMRI sees Iran being sidelined; Kozhanov, ECFR and MEI see Iran as indispensable on the ground."""
    assert 0.15 < baseline[MARGINALISED]["yes"] < 0.5


def test_baseline_has_no_near_certain_driver(baseline):
    for node, (_, role) in CONTRACT.items():
        if role == "driver":
            assert max(baseline[node].values()) < 0.95, node


# ------------------------------------------------------------------ evidence items


def test_at_least_thirteen_items(items):
    assert len(items) >= 13


def test_domain_dated_events_each_have_an_item(items):
    by_id = {it.id: it for it in items}
    for item_id, date in DOMAIN_EVENTS.items():
        assert item_id in by_id, item_id
        assert by_id[item_id].date == date


def test_one_item_per_file_named_after_its_id():
    files = sorted(EVIDENCE.glob("*.yaml"))
    assert files
    for f in files:
        loaded = forecast.load_evidence(f)
        assert len(loaded) == 1, f
        assert loaded[0].id == f.stem


def test_items_have_date_title_source_and_rationale(items, spec, model):
    sources = {s.id for s in spec.sources}
    for it in items:
        assert isinstance(it.date, dt.date)
        assert dt.date(2015, 1, 1) <= it.date <= spec.as_of, it.id
        assert it.title, it.id
        assert it.source in sources, f"{it.id}: unknown source {it.source}"
        assert len(it.rationale) > 80, it.id
        assert "ours" in it.rationale, f"{it.id}: say the weights are a judgement"


def test_item_ids_follow_their_dates(items):
    for it in items:
        assert it.id.startswith(f"e{it.date.year}_{it.date.month:02d}"), it.id


def test_month_only_items_are_dated_to_the_first_and_say_so(items):
    """CONVENTIONS.md: where a source gives only a month, use the 1st and say so in the rationale."""
    month_only = [it for it in items if re.fullmatch(r"e\d{4}_\d{2}_[a-z].*", it.id)]
    assert month_only
    for it in month_only:
        assert it.date.day == 1, it.id
        assert "1st" in it.rationale or "1 January" in it.rationale, it.id


def test_every_item_names_a_node_and_weights_every_state(items, model):
    for it in items:
        assert it.node in model.nodes, it.id
        assert set(it.likelihood) == set(model.states(it.node)), it.id
        assert all(w >= 0 for w in it.likelihood.values()), it.id
        assert len(set(it.likelihood.values())) > 1, (
            f"{it.id}: uniform weights carry no information"
        )


def test_every_item_applies_and_raises_the_state_it_favours(items, model, baseline):
    for it in items:
        post = table(model.posteriors(likelihood={it.node: it.likelihood}, targets=[it.node]))[
            it.node
        ]
        favoured = max(it.likelihood, key=it.likelihood.get)
        assert post[favoured] > baseline[it.node][favoured], it.id


def test_every_item_moves_an_outcome(items, model, baseline):
    """Each dated event matters to the question: it shifts some outcome probability."""
    for it in items:
        post = table(model.posteriors(likelihood={it.node: it.likelihood}, targets=OUTCOME_IDS))
        shift = max(abs(post[n][s] - baseline[n][s]) for n in OUTCOME_IDS for s in post[n])
        assert shift > 1e-3, it.id


def test_timeline_replay_ends_at_the_status_quo(model, items):
    replay = forecast.timeline(model, items, target=[OUTCOME])
    assert list(replay["item"].drop_duplicates()) == ["baseline"] + [it.id for it in items]
    last = replay[replay["item"] == items[-1].id]
    final = dict(zip(last["state"], last["probability"], strict=True))
    status_quo = forecast.load_scenario(SCENARIOS / "status_quo_2018.yaml")
    expected = table(model.posteriors(scenario=status_quo, targets=[OUTCOME]))[OUTCOME]
    for state, p in expected.items():
        assert final[state] == pytest.approx(p, abs=1e-9)


# ------------------------------------------------------------------ scenarios


def test_at_least_four_scenarios_with_descriptions(scenario_files):
    assert len(scenario_files) >= 4
    for f in scenario_files:
        scenario = forecast.load_scenario(f)
        assert scenario.name == f.stem
        assert len(scenario.description) > 60, f


def test_every_scenario_applies(scenario_files, model):
    for f in scenario_files:
        scenario = forecast.load_scenario(f)
        post = table(model.posteriors(scenario=scenario))
        for node, dist in post.items():
            assert sum(dist.values()) == pytest.approx(1.0, abs=1e-9), (f.stem, node)
        for node, state in scenario.hard.items():
            assert post[node][state] == pytest.approx(1.0), (f.stem, node)
        for node, target in scenario.fixed.items():
            for state, p in target.items():
                assert post[node][state] == pytest.approx(p, abs=1e-8), (f.stem, node)


def test_scenarios_do_not_double_count_assumed_nodes(scenario_files, items):
    """A scenario that assumes a node's state leaves out the items on that node."""
    by_id = {it.id: it for it in items}
    for f in scenario_files:
        scenario = forecast.load_scenario(f)
        assumed = set(scenario.hard) | set(scenario.fixed)
        assert all(by_id[i].node not in assumed for i in scenario.items), f.stem


def test_status_quo_scenario_covers_every_item(items):
    scenario = forecast.load_scenario(SCENARIOS / "status_quo_2018.yaml")
    assert sorted(scenario.items) == sorted(it.id for it in items)
    assert not scenario.hard and not scenario.fixed and not scenario.likelihood


def test_status_quo_forecast_keeps_the_marriage_of_convenience(model):
    """With every dated event to January 2018 applied, the documents' consensus still holds."""
    scenario = forecast.load_scenario(SCENARIOS / "status_quo_2018.yaml")
    post = table(model.posteriors(scenario=scenario))
    out = post[OUTCOME]
    assert out["marriage_of_convenience"] > 0.6
    assert out["strategic_alliance"] < 0.1
    assert out["rupture"] < 0.3
    assert post[MARGINALISED]["no"] > post[MARGINALISED]["yes"]
    # what the events say about the drivers
    assert post["regime_military_position"]["stabilised"] > 0.8
    assert post["russia_turkey_alignment"]["strong"] > 0.7
    assert post["us_russia_detente"]["broad"] < 0.05


def test_named_scenarios_move_the_forecast_as_the_documents_expect(model):
    def outcome(name):
        scenario = forecast.load_scenario(SCENARIOS / f"{name}.yaml")
        return table(model.posteriors(scenario=scenario, targets=OUTCOME_IDS))

    base = outcome("status_quo_2018")
    bargain = outcome("us_russia_grand_bargain")
    exit_ = outcome("managed_assad_exit")
    threat = outcome("regime_under_renewed_threat")
    assert bargain[OUTCOME]["rupture"] > base[OUTCOME]["rupture"]
    assert bargain[MARGINALISED]["yes"] > base[MARGINALISED]["yes"]
    assert exit_[OUTCOME]["rupture"] > base[OUTCOME]["rupture"]
    assert exit_[MARGINALISED]["yes"] > base[MARGINALISED]["yes"]
    assert threat[OUTCOME]["strategic_alliance"] > base[OUTCOME]["strategic_alliance"]
    assert threat[OUTCOME]["rupture"] < base[OUTCOME]["rupture"]


# ------------------------------------------------------------------ second edition: the issued forecast


EVENT_PREFIX = "ev_"
CRITERIA = {"rupture_criteria_met", "alliance_criteria_met"}


@pytest.fixture(scope="module")
def issued(model):
    scenario = forecast.load_scenario(SCENARIOS / "status_quo_2018.yaml")
    return table(model.posteriors(scenario=scenario))


def test_issued_forecast_reads_as_the_documents_do(issued):
    """Full alliance very unlikely, limited partnership very likely, rupture unlikely (words.py bands)."""
    out = issued[OUTCOME]
    assert 0.02 < out["strategic_alliance"] < 0.10
    assert out["marriage_of_convenience"] > 0.80
    assert 0.05 < out["rupture"] < 0.20
    assert out["marriage_of_convenience"] > 3 * max(out["strategic_alliance"], out["rupture"])
    assert 0.15 < issued[MARGINALISED]["yes"] < 0.35


def test_some_driver_setting_makes_the_marriage_of_convenience_very_likely(model):
    """The outcome layer can express the documents' 'very likely' (the first edition's ceiling was 74%)."""
    setting = {
        "us_russia_detente": "none",
        "russia_gcc_ties": "strained",
        "israeli_pressure": "low",
        "russia_israel_ties": "close",
        "us_pressure_on_iran": "low",
        "regime_military_position": "stabilised",
        "russia_turkey_alignment": "strong",
        "historical_mistrust": "contained",
    }
    out = table(model.posteriors(hard=setting, targets=[OUTCOME]))[OUTCOME]
    assert out["marriage_of_convenience"] >= 0.85


def test_no_item_bears_on_an_outcome_event_or_criterion_node(items, model):
    for it in items:
        assert model.node(it.node).role != "outcome", it.id
        assert not it.node.startswith(EVENT_PREFIX) and it.node not in CRITERIA, it.id


def test_the_model_checks_find_nothing(items, model):
    from forecast.checks import model_warnings

    assert model_warnings(model, items) == []


def test_outcomes_are_deterministic_functions_of_the_events(model):
    """Rupture if any rupture event, else alliance if any alliance event, else marriage of convenience."""
    rupture = [
        "ev_coordination_suspended",
        "ev_unsc_vote_against_iran",
        "ev_iran_quits_format",
        "ev_diplomatic_break",
    ]
    alliance = ["ev_defence_treaty", "ev_joint_command", "ev_standing_basing"]
    for r in rupture:
        for a in alliance:
            out = table(model.posteriors(hard={r: "yes", a: "yes"}, targets=[OUTCOME]))[OUTCOME]
            assert out["rupture"] == pytest.approx(1.0)
    for a in alliance:
        hard = {a: "yes", **{r: "no" for r in rupture}}
        out = table(model.posteriors(hard=hard, targets=[OUTCOME]))[OUTCOME]
        assert out["strategic_alliance"] == pytest.approx(1.0)
    none = {e: "no" for e in rupture + alliance}
    out = table(model.posteriors(hard=none, targets=[OUTCOME]))[OUTCOME]
    assert out["marriage_of_convenience"] == pytest.approx(1.0)
    for e in ["ev_iran_excluded", "ev_iran_quits_format", "ev_withdrawal_agreement"]:
        m = table(model.posteriors(hard={e: "yes"}, targets=[MARGINALISED]))[MARGINALISED]
        assert m["yes"] == pytest.approx(1.0)


def test_old_items_are_aged_and_later_items_ignored(items, model):
    """2015-16 items weigh less than 2017-18 items on the forecast date; nothing after it applies."""
    weights = model.item_weights(items).set_index("item")["weight"]
    assert weights["e2015_11_23_khamenei_putin_meeting"] < 0.6
    assert weights["e2018_01_08_war_turned_for_assad"] > 0.9
    retro = forecast.evidence_as_of(items, dt.date(2016, 12, 31), model)
    assert all(it.date <= dt.date(2016, 12, 31) for it in retro.items)
    assert (
        model.posteriors(scenario=retro, targets=[OUTCOME]).attrs["forecast_date"] == "2016-12-31"
    )


def test_status_quo_description_matches_its_date_range(items):
    scenario = forecast.load_scenario(SCENARIOS / "status_quo_2018.yaml")
    first, last = items[0].date, items[-1].date
    assert f"{first:%B %Y}" in scenario.description and f"{last:%B %Y}" in scenario.description
