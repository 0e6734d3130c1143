"""Every word list the answer layer uses, in one data module, keyed by language.

Code elsewhere reads `WORDS[language]`; a second language is a second entry here, not new
code. Nothing in these lists names an entity or copies the wording of an eval question: they
are the closed classes of the language (stop words, question words, months, titles) and the
head nouns that say what kind of answer a question wants.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace


def _set(text: str) -> frozenset[str]:
    return frozenset(text.split())


@dataclass(frozen=True)
class Words:
    stopwords: frozenset[str]
    # Words of a question that carry no topic: "what did the releases say about X" is about X.
    question_filler: frozenset[str]
    months: tuple[str, ...]
    # Words before a person's name that are not the name ("Deputy Minister of Foreign Affairs ...").
    title_words: frozenset[str]
    # Demonyms and short forms that share no prefix with their country's name.
    irregular_demonyms: dict[str, str]
    # Head nouns of "which/what <noun>" and "what is the <noun>" that fix the answer type.
    head_nouns: dict[str, frozenset[str]]
    # Question openings that fix the answer type on their own ("who ...", "how many ...").
    wh_types: dict[str, str]
    # Auxiliaries that open a question or a clause ("did", "has", "will").
    auxiliaries: frozenset[str]
    # Verbs whose subject's absence from the sources proves nothing ("say", "do").
    generic_verbs: frozenset[str]
    # Words that ask for a change or comparison over several releases.
    comparison_words: frozenset[str]
    # Words that ask for a release itself ("the latest statement on X").
    release_nouns: frozenset[str]
    # Time words in questions asking for recency.
    recency_words: frozenset[str]
    # Negation words: a claim that denies is judged differently from one that asserts.
    negations: frozenset[str]
    # Number words (a sentence giving "three" gives a number).
    number_words: frozenset[str]
    # Words that open a sentence speaking of what the one before named ("He said ...").
    pronouns: frozenset[str]
    # Two-word openings that point back like a pronoun ("The parties discussed ...").
    anaphoric_openings: frozenset[str]
    # Person nouns that name no particular role ("which officials", "what people").
    generic_person_nouns: frozenset[str]
    # "which/what kind of" words that a head noun follows ("какие страны", "қандай құрылымдар"): for
    # languages without a parser here; English questions are parsed by spaCy instead.
    which_words: frozenset[str] = frozenset()
    # Plural forms among which_words (Russian "какие"), or noun endings that mark a plural
    # (Kazakh -лар/-лер ...): the question asks for several.
    plural_which: frozenset[str] = frozenset()
    plural_endings: tuple[str, ...] = ()
    # Currency names and codes: "12 million euros", "KZT 5 billion" are sums, though spaCy's small
    # model tags only dollar amounts as MONEY and the rest as plain numbers.
    currency_words: frozenset[str] = frozenset()
    # Units of measure: "2 million tonnes" is an amount too, and the small model often tags it a
    # plain number (British spellings especially).
    unit_words: frozenset[str] = frozenset()
    # For false premises: the noun that names an action ("propose" -> "no proposal by X"), irregular
    # past tenses, titles that introduce a person speaking for an actor ("the Albanian side, led
    # by Deputy Minister X"), the words of a visit, and of a meeting (what corrects an unreported visit).
    action_nouns: dict[str, str] = field(default_factory=dict)
    irregular_past: dict[str, str] = field(default_factory=dict)
    person_titles: frozenset[str] = frozenset()
    visit_words: frozenset[str] = frozenset()
    meeting_words: frozenset[str] = frozenset()
    # A role named in another language, as the English releases name it ("посол" -> ambassador):
    # a question naming a role is answered only by a sentence naming that role and a person.
    role_translations: dict[str, str] = field(default_factory=dict)


ENGLISH = Words(
    stopwords=_set(
        """a about above after again against all also am an and any are aren as at be because been before being below
        between both but by can could did didn do does doesn doing don down during each either else even ever every
        few for from further had has hasn have haven having he her here hers herself him himself his how however i if
        in into is isn it its itself just let like may me might more most much must my myself neither no nor not now
        of off on once only or other ought our ours ourselves out over own per rather same shall she should so some
        such than that the their theirs them themselves then there these they this those through thus to too under
        until up upon us very was wasn we were weren what whatever when whenever where whether which while who whom
        whose why will with within without would yet you your yours yourself yourselves
        tell say said says saying told know please give list describe explain summarize summarise according"""
    ),
    question_filler=_set("release releases press statement statements document documents source sources mention"),
    months=tuple("january february march april may june july august september october november december".split()),
    title_words=_set(
        """mr mrs ms dr h.e. his her excellency minister deputy vice prime president secretary ambassador foreign
        affairs state senator general chairman chair chief head director spokesperson spokesman envoy special
        representative undersecretary under assistant counselor consul king queen prince crown sheikh emir premier
        chancellor first of and the for europe european international economic cooperation ministry ministries
        department office national security adviser advisor governor mayor commissioner high acting principal"""
    ),
    irregular_demonyms={
        "french": "france", "dutch": "netherlands", "british": "britain", "uk": "britain", "english": "britain",
        "american": "united states", "us": "united states", "u.s.": "united states", "swiss": "switzerland",
        "greek": "greece", "spanish": "spain", "swedish": "sweden", "danish": "denmark", "finnish": "finland",
        "polish": "poland", "turkish": "turkey", "türkiye": "turkey", "filipino": "philippines", "irish": "ireland",
        "welsh": "wales", "scottish": "scotland", "norwegian": "norway", "belgian": "belgium", "thai": "thailand",
        "emirati": "united arab emirates", "uae": "united arab emirates", "prc": "china", "dprk": "north korea",
        "rok": "south korea", "saudi": "saudi arabia", "israeli": "israel", "pakistani": "pakistan",
    },
    head_nouns={
        "person": _set(
            """person people persons individual individuals official officials minister ministers ambassador
            ambassadors diplomat diplomats leader leaders president presidents secretary secretaries spokesperson
            spokesman spokeswoman envoy envoys representative representatives head heads chair chairman chairwoman
            director directors governor mayor commander coordinator chief consul deputy counterpart counterparts
            delegate delegates member members journalist journalists activist activists victim
            victims candidate candidates winner winners founder officer officers negotiator negotiators"""
        ),
        "organisation": _set(
            """organization organizations organisation organisations agency agencies company companies firm firms
            group groups body bodies institution institutions bank banks fund funds council councils commission
            commissions committee committees court courts ministry ministries department departments party parties
            alliance alliances union unions entity entities network networks coalition coalitions side sides"""
        ),
        "place": _set(
            """country countries city cities capital capitals region regions province provinces state states nation
            nations place places location locations venue venues town towns territory territories port ports
            border area areas island islands district districts site sites"""
        ),
        "date": _set("date dates day days year years month months time times week weeks"),
        "number": _set(
            """number numbers amount amounts value values cost costs price prices budget budgets total totals sum
            sums size share shares percentage percentages percent proportion proportions rate rates gdp worth volume
            volumes turnover population populations toll revenue revenues debt deficit surplus spending expenditure
            figure figures count tally magnitude toll tolls""" 
        ),
        "name": _set(
            """agreement agreements treaty treaties program programs programme programmes initiative initiatives
            project projects law laws act acts plan plans partnership partnerships mechanism mechanisms platform
            platforms framework frameworks conference conferences summit summits dialogue dialogues forum forums
            accord accords compact compacts sanction sanctions resolution resolutions strategy strategies
            statute statutes convention conventions award awards prize prizes title titles name names"""
        ),
    },
    wh_types={
        "who": "agent", "whom": "agent", "whose": "agent", "where": "place", "when": "date",
        "why": "reason", "how many": "number", "how much": "amount", "how long": "number", "how old": "number",
        "how large": "number", "how big": "number", "how far": "number",
    },
    auxiliaries=_set("did does do has have had will would could can should is are was were shall may might must"),
    generic_verbs=_set("say tell do have be think mean get make happen talk go come see want need take"),
    comparison_words=_set("change changed changes compare compared differ differed difference evolve evolved each both"),
    release_nouns=_set("release releases statement statements announcement readout news publication document"),
    recency_words=_set("latest newest recent recently current currently"),
    negations=_set("not no never neither nor without"),
    action_nouns={
        "propose": "proposal", "announce": "announcement", "agree": "agreement", "suggest": "suggestion",
        "decide": "decision", "criticize": "criticism", "criticise": "criticism", "invite": "invitation",
        "recommend": "recommendation", "approve": "approval", "reject": "rejection", "condemn": "condemnation",
        "close": "closure", "open": "opening", "suspend": "suspension", "withdraw": "withdrawal",
        "expel": "expulsion", "accept": "acceptance", "cancel": "cancellation", "donate": "donation",
        "fund": "funding", "commit": "commitment", "pledge": "pledge", "offer": "offer", "request": "request",
    },
    irregular_past={
        "make": "made", "hold": "held", "meet": "met", "give": "gave", "take": "took", "send": "sent",
        "lead": "led", "bring": "brought", "seek": "sought", "withdraw": "withdrew", "speak": "spoke",
        "write": "wrote", "leave": "left", "begin": "began", "build": "built", "pay": "paid", "sell": "sold",
        "buy": "bought", "win": "won", "keep": "kept", "cut": "cut", "put": "put", "set": "set", "shut": "shut",
    },
    person_titles=_set(
        """minister president ambassador secretary premier chancellor king queen prince spokesperson spokesman envoy
        chairman governor mayor senator representative director commissioner counselor consul chief head leader"""
    ),
    visit_words=_set("visit trip travel arrive tour"),
    meeting_words=_set("meet met meeting talks consultations call spoke hosted held virtual"),
    currency_words=_set(
        """euro euros eur usd dollar dollars tenge kzt ruble rubles rouble roubles rub pound pounds sterling gbp
        yen jpy yuan renminbi rmb cny franc francs chf lira lire try krona kronor krone kroner sek nok dkk rupee
        rupees inr won krw dinar dinars dirham dirhams aed manat som soms sum lari gel dram amd hryvnia hryvnias
        uah zloty pln forint huf leu lei ron lev bgn koruna czk crown crowns rand zar real reais brl peso pesos"""
    ),
    unit_words=_set(
        """tonne tonnes ton tons kg kilogram kilograms kilogramme kilogrammes gram grams barrel barrels bbl litre
        litres liter liters gallon gallons cubic metre metres meter meters km kilometre kilometres kilometer
        kilometers mile miles hectare hectares ha acre acres mw megawatt megawatts gw gigawatt gigawatts kwh mwh
        gwh twh bcm percent per cent pct dose doses"""
    ),
    number_words=_set(
        """two three four five six seven eight nine ten eleven twelve twenty thirty forty fifty hundred thousand
        million billion trillion dozen dozens hundreds thousands millions billions twice half"""
    ),
    pronouns=_set("he she they it his her their its this these both"),
    anaphoric_openings=frozenset(
        "the parties|the sides|both sides|both parties|the delegations|the two|the ministers|the leaders".split("|")
    ),
    generic_person_nouns=_set(
        """person people persons individual individuals official officials leader leaders member members figure
        figures delegate delegates representative representatives counterpart counterparts victim victims"""
    ),
)

# Russian and Kazakh questions (a reader of the Kazakh MFA asks in either) are typed by their
# question words and the head noun after "какой"/"қандай"; the releases they are answered from are
# English, so only these lists are needed: the rest is English's. Head nouns are matched by stem
# (Russian Snowball) or as a prefix (Kazakh suffixes stack on an unchanging stem).
RUSSIAN = replace(
    ENGLISH,
    wh_types={
        "кто": "agent", "кого": "agent", "кому": "agent", "кем": "agent", "чей": "agent", "чья": "agent",
        "чьё": "agent", "чьи": "agent", "где": "place", "куда": "place", "откуда": "place", "когда": "date",
        "почему": "reason", "зачем": "reason", "сколько": "number", "скольким": "number", "скольких": "number",
    },
    which_words=_set("какой какая какое какие какого какую каким какими каких каком какой-либо каков какова каково каковы"),
    plural_which=_set("какие каким какими каких каковы"),
    role_translations={
        "посол": "ambassador", "посла": "ambassador", "министр": "minister", "консул": "consul", "президент": "president",
        "посланник": "envoy", "спикер": "spokesperson", "секретарь": "secretary", "госсекретарь": "secretary",
        "председатель": "chairman", "глава": "head", "директор": "director", "губернатор": "governor",
        "мэр": "mayor", "командующий": "commander", "координатор": "coordinator", "заместитель": "deputy",
        "премьер": "premier", "канцлер": "chancellor",
    },
    head_nouns={
        "person": _set(
            """человек люди лицо лица чиновник чиновники министр министры посол послы дипломат дипломаты лидер
            лидеры руководитель руководители президент президенты секретарь госсекретарь представитель
            представители глава главы председатель директор губернатор мэр командующий координатор консул
            заместитель делегат делегаты член члены журналист журналисты активист активисты кандидат победитель
            основатель сотрудник сотрудники переговорщик посланник спикер"""
        ),
        "organisation": _set(
            """организация организации агентство компания компании фирма группа орган органы учреждение банк фонд
            совет комиссия комитет суд министерство ведомство департамент партия альянс союз структура структуры"""
        ),
        "place": _set(
            """страна страны город города столица регион регионы область провинция государство государства место
            территория порт граница остров район"""
        ),
        "date": _set("дата день год месяц неделя время"),
        "number": _set("число количество сумма объём объем стоимость цена бюджет доля процент размер население оборот"),
        "name": _set(
            """соглашение соглашения договор договоры программа программы инициатива инициативы проект проекты
            закон законы план партнёрство механизм платформа конференция саммит диалог форум конвенция стратегия
            санкции резолюция премия награда название"""
        ),
    },
)
KAZAKH = replace(
    ENGLISH,
    wh_types={
        "кім": "agent", "кімді": "agent", "кімнің": "agent", "кімге": "agent", "кіммен": "agent",
        "қайда": "place", "қайдан": "place", "қашан": "date", "неге": "reason", "неліктен": "reason",
        "неше": "number", "қанша": "number",
    },
    which_words=_set("қандай қай қайсы"),
    plural_endings=("лар", "лер", "дар", "дер", "тар", "тер"),
    role_translations={
        "елші": "ambassador", "министр": "minister", "консул": "consul", "президент": "president",
        "хатшы": "secretary", "төраға": "chairman", "басшы": "head", "директор": "director", "әкім": "mayor",
        "орынбасар": "deputy", "премьер": "premier", "канцлер": "chancellor",
    },
    head_nouns={
        "person": _set(
            """адам тұлға министр елші дипломат басшы президент хатшы өкіл төраға директор әкім делегат мүше
            журналист орынбасар қызметкер"""
        ),
        "organisation": _set("ұйым агенттік компания топ орган мекеме банк қор кеңес комиссия комитет сот министрлік партия одақ құрылым"),
        "place": _set("ел мемлекет қала астана аймақ облыс өңір аумақ шекара арал аудан"),
        "date": _set("күн жыл ай апта уақыт"),
        "number": _set("сан мөлшер сома көлем құн баға бюджет үлес пайыз халық айналым"),
        "name": _set(
            """келісім шарт бағдарлама бастама жоба заң жоспар әріптестік механизм платформа конференция саммит
            диалог форум конвенция стратегия санкция қарар сыйлық атау"""
        ),
    },
)

WORDS: dict[str, Words] = {"en": ENGLISH, "ru": RUSSIAN, "kk": KAZAKH}


def words_for(language: str = "en") -> Words:
    """The word lists of `language`, English where there are none for it."""
    return WORDS.get(language or "en", ENGLISH)
