"""Train the PERSON / STREET_ADDRESS tagger on synthetic text this module generates.

    python -m bastion.data.detect.train [--out PATH] [--seed N] [--docs N]

Names, addresses, companies and cities come from Faker in ten locales; the documents
around them (e-mails, chats, tickets, clinical notes, logs, CSV and JSON records,
forms, letters, signatures, prose) come from the generators below, which also produce
plenty of text that is *not* a name or an address: company names built from surnames,
cities and countries on their own, products, months and weekdays, capitalised words at
the start of sentences, headings and form labels, street-like idioms ("Wall Street
Journal"), eponymous diseases, invented words. A share of names is made of invented
syllables so the model has to learn context and shape, not a list.

Output is deterministic for a given seed, Faker version and crfsuite version. Faker is
a training-only dependency (``pip install bastion[train]``).
"""

from __future__ import annotations

import argparse
import functools
import json
import random
import string
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import pycrfsuite

from bastion.data.detect.tagger import (
    PERSON,
    STREET_ADDRESS,
    EntityTagger,
    bio_labels,
    tokenize,
    training_windows,
)

_T = TypeVar("_T")

LOCALES = (
    "en_US",
    "en_GB",
    "de_DE",
    "fr_FR",
    "es_ES",
    "it_IT",
    "nl_NL",
    "pt_BR",
    "en_IN",
    "pl_PL",
)
# How often each locale supplies a name or an address.
LOCALE_WEIGHTS = (28, 10, 9, 8, 8, 7, 6, 8, 9, 7)

DEFAULT_OUT = Path(__file__).parent / "models" / "person_address.crfsuite"
DEFAULT_DOCS = 14000
DEFAULT_SEED = 20240611
POOL_SIZE = 900

# Titles by locale: they precede a name but are not part of it.
TITLES: dict[str, tuple[str, ...]] = {
    "en_US": ("Mr.", "Mrs.", "Ms.", "Dr.", "Prof.", "Mr", "Ms", "Dr", "Miss", "Mx.", "Rev."),
    "en_GB": ("Mr", "Mrs", "Ms", "Dr", "Miss", "Prof", "Sir", "Dame", "Lord", "Lady"),
    "de_DE": ("Herr", "Frau", "Dr.", "Prof. Dr.", "Herr Dr.", "Frau Dr.", "Dipl.-Ing."),
    "fr_FR": ("M.", "Mme", "Mlle", "Monsieur", "Madame", "Dr", "Pr", "Me"),
    "es_ES": ("Sr.", "Sra.", "Srta.", "Don", "Doña", "D.", "Dña.", "Dr.", "Dra."),
    "it_IT": ("Sig.", "Sig.ra", "Dott.", "Dott.ssa", "Ing.", "Avv.", "Prof."),
    "nl_NL": ("Dhr.", "Mevr.", "dhr.", "mevr.", "Dr.", "Ir.", "Mr."),
    "pt_BR": ("Sr.", "Sra.", "Srta.", "Dr.", "Dra.", "Prof.", "Dona"),
    "en_IN": ("Mr.", "Mrs.", "Ms.", "Dr.", "Shri", "Smt.", "Prof."),
    "pl_PL": ("Pan", "Pani", "pan", "pani", "Dr", "dr", "prof."),
}
SUFFIXES = ("Jr.", "Sr.", "II", "III", "PhD", "MD", "MBA", "B.Sc.", "Esq.", "CPA", "RN")

# --------------------------------------------------------------------------- negatives
# Capitalised text that is not a person and not an address.

REAL_COMPANIES = (
    "Google",
    "Microsoft",
    "Amazon Web Services",
    "Apple",
    "Meta",
    "Netflix",
    "Oracle",
    "Salesforce",
    "Adobe",
    "IBM",
    "Intel",
    "Nvidia",
    "Cisco",
    "SAP",
    "Siemens",
    "Bosch",
    "Deutsche Bank",
    "Commerzbank",
    "Allianz",
    "BNP Paribas",
    "Société Générale",
    "AXA",
    "Banco Santander",
    "BBVA",
    "Telefónica",
    "Inditex",
    "Enel",
    "Intesa Sanpaolo",
    "UniCredit",
    "Ferrari",
    "Philips",
    "ING Bank",
    "Heineken",
    "Shell",
    "Unilever",
    "Petrobras",
    "Itaú Unibanco",
    "Natura",
    "Tata Consultancy Services",
    "Infosys",
    "Wipro",
    "Reliance Industries",
    "HDFC Bank",
    "PKO Bank Polski",
    "Allegro",
    "Orlen",
    "Johnson & Johnson",
    "Procter & Gamble",
    "Wells Fargo",
    "Morgan Stanley",
    "Goldman Sachs",
    "JPMorgan Chase",
    "Ernst & Young",
    "Deloitte",
    "KPMG",
    "PricewaterhouseCoopers",
    "McKinsey & Company",
    "Boston Consulting Group",
    "McDonald's",
    "Ben & Jerry's",
    "Dell Technologies",
    "Ford Motor Company",
    "Walt Disney",
    "Tesla",
    "Hewlett-Packard",
    "Mercedes-Benz",
    "Louis Vuitton",
    "Lamborghini",
    "Porsche",
    "Rolls-Royce",
    "Marks & Spencer",
    "Sainsbury's",
    "Tesco",
    "Barclays",
    "HSBC",
    "Lloyds Bank",
    "Vodafone",
    "British Airways",
    "Lufthansa",
    "Air France",
    "Iberia",
    "Ryanair",
    "KLM",
    "DHL Express",
    "FedEx",
    "UPS",
    "Zalando",
    "Spotify",
    "Atlassian",
    "Shopify",
    "Stripe",
    "PayPal",
    "Visa",
    "Mastercard",
    "American Express",
    "Acme Corp",
    "Globex Corporation",
    "Initech",
    "Umbrella Corp",
    "Stark Industries",
    "Wayne Enterprises",
    "Hooli",
    "Pied Piper",
    "Contoso Ltd",
    "Fabrikam Inc",
    "Northwind Traders",
    "Tailspin Toys",
    "Wingtip Toys",
)
REAL_CITIES = (
    "New York",
    "Los Angeles",
    "Chicago",
    "Houston",
    "Phoenix",
    "Philadelphia",
    "San Antonio",
    "San Diego",
    "Dallas",
    "Austin",
    "Seattle",
    "Denver",
    "Boston",
    "Atlanta",
    "Miami",
    "Portland",
    "London",
    "Manchester",
    "Birmingham",
    "Leeds",
    "Glasgow",
    "Edinburgh",
    "Bristol",
    "Berlin",
    "Hamburg",
    "Munich",
    "München",
    "Köln",
    "Frankfurt",
    "Stuttgart",
    "Düsseldorf",
    "Paris",
    "Lyon",
    "Marseille",
    "Toulouse",
    "Nice",
    "Bordeaux",
    "Madrid",
    "Barcelona",
    "Valencia",
    "Sevilla",
    "Bilbao",
    "Rome",
    "Roma",
    "Milan",
    "Milano",
    "Naples",
    "Turin",
    "Florence",
    "Bologna",
    "Amsterdam",
    "Rotterdam",
    "Utrecht",
    "The Hague",
    "Eindhoven",
    "São Paulo",
    "Rio de Janeiro",
    "Belo Horizonte",
    "Brasília",
    "Curitiba",
    "Porto Alegre",
    "Salvador",
    "Recife",
    "Mumbai",
    "Delhi",
    "New Delhi",
    "Bangalore",
    "Bengaluru",
    "Hyderabad",
    "Chennai",
    "Kolkata",
    "Pune",
    "Ahmedabad",
    "Warsaw",
    "Warszawa",
    "Kraków",
    "Wrocław",
    "Gdańsk",
    "Poznań",
    "Łódź",
    "Dublin",
    "Lisbon",
    "Vienna",
    "Zurich",
    "Geneva",
    "Brussels",
    "Stockholm",
    "Oslo",
    "Copenhagen",
    "Helsinki",
    "Prague",
    "Budapest",
    "Tokyo",
    "Singapore",
    "Sydney",
    "Melbourne",
    "Toronto",
    "Vancouver",
    "Montreal",
    "Dubai",
    "Springfield",
    "Jackson",
    "Franklin",
    "Clinton",
    "Madison",
    "Lincoln",
    "Washington",
    "Charlotte",
    "Eugene",
    "Victoria",
    "Florence",
    "Orlando",
    "Troy",
    "Marion",
)
COUNTRIES = (
    "United States",
    "USA",
    "US",
    "United Kingdom",
    "UK",
    "Germany",
    "Deutschland",
    "France",
    "Spain",
    "España",
    "Italy",
    "Italia",
    "Netherlands",
    "Nederland",
    "Brazil",
    "Brasil",
    "India",
    "Poland",
    "Polska",
    "Ireland",
    "Portugal",
    "Canada",
    "Mexico",
    "Japan",
    "Australia",
    "Switzerland",
    "Austria",
    "Belgium",
    "Sweden",
    "Norway",
)
PRODUCTS = (
    "iPhone 15 Pro",
    "iPad Air",
    "MacBook Pro",
    "Galaxy S23",
    "Pixel 8",
    "ThinkPad X1",
    "Surface Laptop",
    "Kindle Paperwhite",
    "PlayStation 5",
    "Xbox Series X",
    "Nintendo Switch",
    "Windows 11",
    "Windows Server 2019",
    "Office 365",
    "Outlook",
    "Teams",
    "Slack",
    "Zoom",
    "Jira",
    "Confluence",
    "GitHub",
    "GitLab",
    "Bitbucket",
    "Kubernetes",
    "Docker",
    "PostgreSQL",
    "MySQL",
    "MongoDB",
    "Redis",
    "Kafka",
    "Elasticsearch",
    "Grafana",
    "Prometheus",
    "Terraform",
    "Ansible",
    "Jenkins",
    "ServiceNow",
    "Okta",
    "Auth0",
    "Zendesk",
    "HubSpot",
    "Tableau",
    "Power BI",
    "Excel",
    "Word",
    "PowerPoint",
    "Chrome",
    "Firefox",
    "Safari",
    "Android",
    "iOS",
    "Ubuntu 22.04",
    "Red Hat Enterprise Linux",
    "Debian",
    "AWS Lambda",
    "Amazon S3",
    "Azure AD",
    "Google Cloud Storage",
    "BigQuery",
    "Snowflake",
    "Databricks",
    "Premium Plan",
    "Business Plus",
    "Pro Max",
    "Starter Kit",
    "Gold Membership",
    "Platinum Card",
    "Model 3",
    "Corolla",
    "Golf GTI",
    "Echo Dot",
    "AirPods Pro",
    "Apple Watch",
    "Fitbit Charge",
    "Dyson V15",
    "Nespresso Vertuo",
    "Roomba",
)
STREET_IDIOMS = (
    "Wall Street Journal",
    "Wall Street",
    "Sesame Street",
    "Main Street",
    "Easy Street",
    "Downing Street",
    "Fleet Street",
    "Baker Street station",
    "Abbey Road Studios",
    "Street Fighter",
    "Jump Street",
    "Coronation Street",
    "Park Avenue Armory",
    "Fifth Avenue",
    "Madison Avenue",
    "Avenue Q",
    "Broadway",
    "Sunset Boulevard",
    "Route 66",
    "Highway 101",
    "Interstate 95",
    "Silicon Valley",
    "Hollywood Boulevard",
    "Champs-Élysées",
    "Kurfürstendamm",
    "Via Appia",
    "Las Ramblas",
    "Oxford Street",
    "Carnaby Street",
    "Bourbon Street",
    "Electric Avenue",
    "Penny Lane",
    "Memory Lane",
    "Lombard Street",
    "Rodeo Drive",
    "Mulholland Drive",
    "Park Lane",
    "Old Kent Road",
    "Queen Street Mall",
    "High Street banks",
    "Street View",
    "Road Runner",
    "Lane Assist",
    "Drive Pilot",
    "Place des Vosges",
    "Plaza Mayor",
    "Piazza San Marco",
    "Platz der Republik",
    "Straße des 17. Juni",
    "Rua Augusta",
)
# Things named after people that are not a person in the text.
EPONYMS = (
    "Parkinson's disease",
    "Alzheimer's disease",
    "Crohn's disease",
    "Hodgkin lymphoma",
    "Graves' disease",
    "Hashimoto's thyroiditis",
    "Down syndrome",
    "Tourette syndrome",
    "Asperger syndrome",
    "Cushing's syndrome",
    "Addison's disease",
    "Bell's palsy",
    "Raynaud's phenomenon",
    "Huntington's disease",
    "Lyme disease",
    "Epstein-Barr virus",
    "Guillain-Barré syndrome",
    "Kaposi sarcoma",
    "Wilms tumor",
    "Barrett's esophagus",
    "Babinski sign",
    "Apgar score",
    "Glasgow Coma Scale",
    "Heimlich maneuver",
    "Nobel Prize",
    "Turing test",
    "Fibonacci sequence",
    "Gaussian blur",
    "Boolean logic",
    "Newtonian fluid",
    "Darwin Awards",
    "Kalman filter",
    "Bayesian model",
    "Dijkstra's algorithm",
    "Euler angles",
    "Fourier transform",
    "Markov chain",
    "Lincoln Memorial",
    "Washington Monument",
    "Victoria Station",
    "Elizabeth line",
    "Jefferson Airplane",
    "Marie Curie Hospital",
    "St. Mary's Hospital",
    "Johns Hopkins Hospital",
    "Mayo Clinic",
    "Mount Sinai",
    "Cleveland Clinic",
    "King's College",
    "Trinity College",
    "St. Thomas' Hospital",
    "Charité",
)
DRUGS = (
    "Metformin",
    "Lisinopril",
    "Atorvastatin",
    "Amlodipine",
    "Omeprazole",
    "Levothyroxine",
    "Ibuprofen",
    "Paracetamol",
    "Acetaminophen",
    "Amoxicillin",
    "Azithromycin",
    "Prednisone",
    "Insulin glargine",
    "Warfarin",
    "Apixaban",
    "Sertraline",
    "Albuterol",
    "Gabapentin",
    "Losartan",
    "Hydrochlorothiazide",
    "Simvastatin",
    "Aspirin",
)
CONDITIONS = (
    "Type 2 diabetes",
    "Hypertension",
    "Asthma",
    "COPD",
    "Migraine",
    "Atrial fibrillation",
    "Pneumonia",
    "Chronic kidney disease",
    "Hyperlipidemia",
    "Hypothyroidism",
    "Major depressive disorder",
    "Osteoarthritis",
    "GERD",
    "Anemia",
    "Sepsis",
)
DEPARTMENTS = (
    "Cardiology",
    "Oncology",
    "Radiology",
    "Emergency Department",
    "Pediatrics",
    "Orthopedics",
    "Neurology",
    "Dermatology",
    "Internal Medicine",
    "ICU",
    "Pharmacy",
    "Finance",
    "Legal",
    "Human Resources",
    "HR",
    "Sales",
    "Marketing",
    "Engineering",
    "Customer Success",
    "IT Support",
    "Procurement",
    "Facilities",
    "Security Operations",
    "Accounts Payable",
    "Billing",
    "Logistics",
    "Compliance",
    "Research and Development",
)
ROLES = (
    "Customer",
    "Client",
    "Agent",
    "Support",
    "Admin",
    "Administrator",
    "System",
    "Bot",
    "Assistant",
    "Manager",
    "Team",
    "Everyone",
    "All",
    "Sir or Madam",
    "Sir/Madam",
    "Hiring Manager",
    "Recruiter",
    "Colleagues",
    "Friends",
    "Team Lead",
    "Operator",
    "Reviewer",
    "Guest",
    "User",
    "Owner",
    "Patient",
    "Doctor",
    "Nurse",
    "Caller",
    "Moderator",
    "Helpdesk",
    "Dispatcher",
    "Landlord",
    "Tenant",
    "Applicant",
)
HEADINGS = (
    "Summary",
    "Description",
    "Status",
    "Priority",
    "Resolution",
    "Root Cause",
    "Action Items",
    "Next Steps",
    "Meeting Notes",
    "Release Notes",
    "Impact",
    "Timeline",
    "Background",
    "Overview",
    "Attachments",
    "Comments",
    "Details",
    "Assessment",
    "Plan",
    "History",
    "Findings",
    "Recommendation",
    "Follow-up",
    "Agenda",
    "Decision",
    "Risks",
    "Open Questions",
    "Environment",
    "Steps to Reproduce",
    "Expected Result",
    "Actual Result",
    "Workaround",
    "Severity",
    "Category",
)
STATUS_WORDS = (
    "Open",
    "Closed",
    "Pending",
    "Resolved",
    "In Progress",
    "On Hold",
    "New",
    "Escalated",
    "Waiting on Customer",
    "Done",
    "High",
    "Low",
    "Medium",
    "Urgent",
    "Critical",
    "Normal",
    "Approved",
    "Rejected",
    "Shipped",
    "Delivered",
    "Cancelled",
    "Refunded",
)
SERVICES = (
    "AuthService",
    "PaymentGateway",
    "OrderService",
    "UserRepository",
    "BillingWorker",
    "NotificationDispatcher",
    "InventorySync",
    "SessionManager",
    "CacheWarmer",
    "ReportScheduler",
    "SearchIndexer",
    "ApiGateway",
    "CheckoutController",
    "ShippingLabelJob",
    "FraudScorer",
    "EmailSender",
    "TokenRefresher",
    "MetricsExporter",
)
EXCEPTIONS = (
    "NullPointerException",
    "TimeoutError",
    "ConnectionResetError",
    "KeyError",
    "IllegalStateException",
    "ValidationError",
    "PermissionDenied",
    "OutOfMemoryError",
    "SSLHandshakeException",
    "DeadlockDetected",
    "RateLimitExceeded",
    "NotFound",
)
COLOURS = (
    "Black",
    "White",
    "Blue",
    "Red",
    "Green",
    "Silver",
    "Graphite",
    "Navy",
    "Rose Gold",
    "Space Grey",
    "Midnight",
    "Forest",
    "Charcoal",
    "Ivory",
    "Sand",
    "Olive",
    "Coral",
)
ITEMS = (
    "Running Shoe",
    "Wireless Mouse",
    "Desk Lamp",
    "Office Chair",
    "Water Bottle",
    "Laptop Sleeve",
    "USB-C Cable",
    "Hoodie",
    "Backpack",
    "Coffee Grinder",
    "Monitor Arm",
    "Standing Desk",
    "Phone Case",
    "Gift Card",
    "Notebook",
    "Headphones",
    "Router",
    "Power Bank",
    "Keyboard",
    "Webcam",
    "Toner Cartridge",
    "Yoga Mat",
    "Kettle",
    "Blender",
    "Throw Pillow",
    "Duvet Cover",
    "Widget",
    "Gadget",
    "Bracket",
    "Sensor",
)
MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
# Names that are also words; in lower case they are just words.
WORD_NAMES = (
    "Will",
    "Grace",
    "Rose",
    "Mark",
    "Bill",
    "Faith",
    "Hope",
    "Joy",
    "Bob",
    "Frank",
    "Sue",
    "Pat",
    "Rich",
    "Dawn",
    "June",
    "April",
    "May",
    "Iris",
    "Summer",
    "Hunter",
    "Chase",
    "Cash",
    "Penny",
    "Ruby",
    "Jack",
    "Drew",
    "Gene",
    "Miles",
    "Sky",
)

# --------------------------------------------------------------------------- filler prose

FILLER = (
    "Please find the updated figures attached.",
    "The invoice was paid on time but the receipt never arrived.",
    "We need the signed contract back before the end of the quarter.",
    "Could you confirm the delivery window?",
    "The build failed again on the integration branch.",
    "Thanks for the quick turnaround on this.",
    "Let me know if anything else is needed from our side.",
    "The customer was charged twice for the same order.",
    "I have rescheduled the call to next week.",
    "Nothing urgent, just keeping you in the loop.",
    "The replacement unit has been dispatched.",
    "Our records show the account was closed last year.",
    "See the notes below for the full timeline.",
    "Happy to jump on a call if that is easier.",
    "The password reset link expired before it was used.",
    "Shipping is delayed because of the holiday backlog.",
    "The refund will show up in five to seven business days.",
    "I could not reproduce the issue on staging.",
    "Monitoring shows elevated error rates since the deploy.",
    "Both laptops were returned to the IT desk.",
    "Approval is still pending with procurement.",
    "The meeting room on the third floor is booked all afternoon.",
    "We moved the quarterly review to the main conference room.",
    "Attached is the scan of the signed form.",
    "Great news, the pilot went live this morning.",
    "As discussed, the discount applies to the annual plan only.",
    "Unfortunately the item is out of stock until next month.",
    "This is a reminder that your subscription renews soon.",
    "The documents are ready for pickup at the front desk.",
    "Kindly update the billing details in the portal.",
    "Patient tolerated the procedure well.",
    "No known drug allergies.",
    "Vitals stable, afebrile overnight.",
    "Follow-up appointment in two weeks.",
    "Labs were within normal limits except for a mildly elevated glucose.",
    "Continue current medication and monitor blood pressure at home.",
    "Discussed risks and benefits, and consent was obtained.",
    "Wound is healing well with no signs of infection.",
    "All tests passed after the dependency bump.",
    "Rollback completed without data loss.",
    "Disk usage on the primary node is at 91 percent.",
    "Certificate renewal is scheduled for Friday night.",
    "The job retried three times and then gave up.",
    "Traffic was shifted to the secondary region.",
    "New hires get their badges on the first day.",
    "Expense reports are due by the fifth of each month.",
    "The office will be closed on the public holiday.",
    "Printer on the second floor is jammed again.",
    "Welcome aboard, glad to have you on the team.",
    "Any feedback on the draft is welcome.",
    "Sorry for the late reply, I was travelling.",
    "Let's sync after lunch.",
    "Sounds good to me.",
    "On my way, running ten minutes late.",
    "Did anyone see the email from legal?",
    "The vendor quoted a lower price this time.",
    "Keep up the great work.",
    "Our new pricing takes effect on the first of next month.",
    "The survey closes at midnight.",
    "Tickets for the conference sold out in an hour.",
    "Bitte um kurze Rückmeldung bis Freitag.",
    "Die Rechnung liegt im Anhang.",
    "Vielen Dank für Ihre Geduld.",
    "Merci pour votre retour rapide.",
    "La facture est jointe à ce message.",
    "Gracias por su paciencia.",
    "Adjuntamos la factura del mes pasado.",
    "Grazie per la collaborazione.",
    "In allegato trova il preventivo richiesto.",
    "Alvast bedankt voor je hulp.",
    "De factuur zit in de bijlage.",
    "Obrigado pelo retorno.",
    "Segue em anexo o comprovante.",
    "Dziękuję za szybką odpowiedź.",
    "W załączniku przesyłam fakturę.",
)

# --------------------------------------------------------------------------- documents


@dataclass
class Doc:
    """Text under construction with its labelled character spans."""

    parts: list[str] = field(default_factory=list)
    spans: list[tuple[int, int, str]] = field(default_factory=list)
    size: int = 0

    def add(self, text: str) -> Doc:
        self.parts.append(text)
        self.size += len(text)
        return self

    def ent(self, text: str, kind: str) -> Doc:
        if text:
            self.spans.append((self.size, self.size + len(text), kind))
        return self.add(text)

    def person(self, name: Name) -> Doc:
        if name.title:
            self.add(name.title + " ")
        self.ent(name.text, PERSON)
        if name.suffix:
            self.add(name.suffix)
        return self

    def text(self) -> str:
        return "".join(self.parts)


@dataclass(frozen=True)
class Name:
    """A rendered personal name: ``title`` and ``suffix`` lie outside the span."""

    text: str
    title: str = ""
    suffix: str = ""
    first: str = ""
    last: str = ""


@dataclass
class LocalePool:
    """Faker output for one locale, drawn once so documents sample quickly."""

    first: list[str]
    last: list[str]
    street: list[str]
    address: list[str]
    city: list[str]
    postcode: list[str]
    company: list[str]
    street_name: list[str]
    building: list[str]
    state: list[str]
    phone: list[str]


_SYLLABLES = [
    "ka",
    "ri",
    "zor",
    "vak",
    "thre",
    "no",
    "dy",
    "mel",
    "an",
    "dra",
    "bel",
    "os",
    "tin",
    "var",
    "lu",
    "sen",
    "ko",
    "ra",
    "ve",
    "nik",
    "ol",
    "ga",
    "bri",
    "tas",
    "fen",
    "mor",
    "wen",
    "ul",
    "dre",
    "ja",
    "qu",
    "ix",
    "ae",
    "lio",
    "pha",
    "ren",
    "sto",
    "cal",
    "del",
    "ny",
    "ros",
    "tam",
    "ur",
    "zel",
    "sha",
    "gor",
    "vin",
    "el",
    "ma",
    "ti",
    "bo",
    "de",
    "la",
    "fi",
    "ne",
    "po",
    "ru",
    "sa",
    "ye",
    "vo",
    "hal",
    "ber",
    "kin",
    "dor",
]


class World:
    """Random draws of names, addresses and everything around them."""

    def __init__(self, seed: int, pool_size: int = POOL_SIZE) -> None:
        from faker import Faker  # training-only dependency

        self.rng = random.Random(seed)  # noqa: S311 - synthetic data, not security
        self.pools: dict[str, LocalePool] = {}
        for i, loc in enumerate(LOCALES):
            fk = Faker(loc)
            fk.seed_instance(seed * 31 + i)
            for provider in fk.get_providers():
                # Some locales build their city list from a set, whose order changes with
                # the interpreter's hash seed: sort it so a seed gives the same corpus.
                cities = getattr(provider, "cities", None)
                if isinstance(cities, list):
                    cities.sort()
            n = pool_size

            def draw(fn: Callable[[], str], count: int = n) -> list[str]:
                return [str(fn()) for _ in range(count)]

            state = draw(fk.state_abbr, 60) if loc == "en_US" else [""]
            self.pools[loc] = LocalePool(
                first=draw(fk.first_name, 6 * n),
                last=draw(fk.last_name, 6 * n),
                street=draw(fk.street_address),
                address=draw(fk.address),
                city=draw(fk.city),
                postcode=draw(fk.postcode, 200),
                company=draw(fk.company, n // 2),
                street_name=draw(fk.street_name, n // 2),
                building=draw(fk.building_number, 200),
                state=state,
                phone=draw(fk.phone_number, 150),
            )
            if loc == "en_US":
                self.jobs = draw(fk.job, 300)
                self.domains = draw(fk.domain_name, 100)
        self.all_cities = [c for p in self.pools.values() for c in p.city] + list(REAL_CITIES)
        self.all_companies = [c for p in self.pools.values() for c in p.company]
        self.all_companies += list(REAL_COMPANIES) * 4

    # -- basic draws ---------------------------------------------------------------
    def choice(self, seq: Sequence[_T]) -> _T:
        return seq[self.rng.randrange(len(seq))]

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def locale(self) -> str:
        return self.rng.choices(LOCALES, LOCALE_WEIGHTS)[0]

    def invented(self) -> str:
        n = self.rng.choice((2, 2, 2, 3))
        word = "".join(self.choice(_SYLLABLES) for _ in range(n))
        return word[:1].upper() + word[1:]

    def first_name(self, loc: str | None = None) -> str:
        if self.chance(0.12):
            return self.invented()
        return self.choice(self.pools[loc or self.locale()].first)

    def last_name(self, loc: str | None = None) -> str:
        if self.chance(0.12):
            return self.invented()
        return self.choice(self.pools[loc or self.locale()].last)

    def name(self, style: str = "any", *, titled: float = 0.12) -> Name:
        """A person's name in one of many written forms."""
        loc = self.locale()
        first, last = self.first_name(loc), self.last_name(loc)
        r = self.rng.random()
        if style == "first":
            text = first
        elif style == "last":
            text = last
        elif (style == "any" and r < 0.50) or style == "full":
            text = f"{first} {last}"
        elif r < 0.60:
            text = f"{first} {self.first_name(loc)} {last}"
        elif r < 0.70:
            text = f"{first} {self.initial()} {last}"
        elif r < 0.74:
            text = f"{self.initial()} {last}"
        elif r < 0.78:
            text = f"{last}, {first}"
        elif r < 0.81:
            text = f"{first} {last}-{self.last_name(loc)}"
        elif r < 0.84:
            text = f"{self.initial()} {self.initial()} {last}"
        elif r < 0.88 and loc in ("es_ES", "pt_BR"):
            text = f"{first} {last} {self.last_name(loc)}"
        else:
            text = f"{first} {last}"
        if self.chance(0.02):
            text = text.upper()
        title = ""
        if style == "last" or self.chance(titled):
            title = self.choice(TITLES[loc])
        suffix = ""
        if style in ("any", "full") and self.chance(0.03):
            suffix = self.choice((" ", ", ")) + self.choice(SUFFIXES)
        return Name(text, title, suffix, first, last)

    def initial(self) -> str:
        letter = self.choice(string.ascii_uppercase)
        return letter + ("." if self.chance(0.8) else "")

    def address(self, form: str = "any") -> str:
        """A postal address: ``street`` (one line), ``line`` (all on one line) or
        ``lines`` (as on an envelope)."""
        loc = self.locale()
        pool = self.pools[loc]
        if form == "any":
            form = self.rng.choice(("street", "line", "line", "lines"))
        if loc == "en_US" and self.chance(0.4):
            return self._us_address(form)
        if form == "street":
            text = self.choice(pool.street).strip()
            return text.replace("\n", self.choice((", ", " ")))
        text = self.choice(pool.address).strip()
        if form == "line":
            sep = self.choice((", ", ", ", " ", "; ", " - "))
            return sep.join(part.strip() for part in text.split("\n"))
        return "\n".join(part.strip() for part in text.split("\n"))

    def _us_address(self, form: str) -> str:
        pool = self.pools["en_US"]
        number = self.choice(pool.building)
        direction = self.choice(("", "", "", "N ", "S ", "E ", "W ", "North ", "NE "))
        street = self.choice(pool.street_name)
        words = street.split()
        if len(words) > 1 and self.chance(0.4):
            abbr = {
                "Street": "St",
                "Avenue": "Ave",
                "Road": "Rd",
                "Drive": "Dr",
                "Lane": "Ln",
                "Boulevard": "Blvd",
                "Court": "Ct",
                "Place": "Pl",
                "Parkway": "Pkwy",
                "Highway": "Hwy",
                "Circle": "Cir",
                "Terrace": "Ter",
                "Square": "Sq",
            }
            last = words[-1]
            if last in abbr:
                words[-1] = abbr[last] + ("." if self.chance(0.4) else "")
            street = " ".join(words)
        line1 = f"{number} {direction}{street}"
        if self.chance(0.3):
            unit = self.choice(("Apt", "Apt.", "Suite", "Ste", "Unit", "#", "Fl", "Floor"))
            line1 += self.choice((" ", ", ")) + f"{unit} {self.rng.randint(1, 999)}"
            if self.chance(0.2):
                line1 += self.choice(string.ascii_uppercase[:6])
        if self.chance(0.1):
            # The unit first: "Apt 4, 123 Main St".
            unit = self.choice(("Apt", "Apt.", "Suite", "Unit", "Flat"))
            line1 = f"{unit} {self.rng.randint(1, 99)}, {number} {direction}{street}"
        if form == "street":
            return line1
        city = self.choice(pool.city if self.chance(0.7) else REAL_CITIES[:40])
        state = self.choice(pool.state)
        zipc = self.choice(pool.postcode)
        if self.chance(0.15):
            zipc += f"-{self.rng.randint(1000, 9999)}"
        tail = self.choice(
            (
                f"{city}, {state} {zipc}",
                f"{city}, {state} {zipc}",
                f"{city}, {state}, {zipc}",
                f"{city} {state} {zipc}",
                f"{city}, {state}",
            )
        )
        if self.chance(0.1):
            tail += self.choice((", USA", " USA", ", United States"))
        sep = "\n" if form == "lines" else self.choice((", ", ", ", " "))
        return line1 + sep + tail

    def city(self) -> str:
        return self.choice(self.all_cities)

    def company(self) -> str:
        return self.choice(self.all_companies)

    def job(self) -> str:
        return self.choice(self.jobs)

    def email(self, name: Name | None = None) -> str:
        if name and name.first and self.chance(0.7):
            first = _ascii(name.first.lower()) or "user"
            last = _ascii(name.last.lower()) or "mail"
            local = self.rng.choice(
                (f"{first}.{last}", f"{first[0]}{last}", f"{first}_{last}", first, last)
            )
        else:
            local = self.choice(
                ("info", "support", "billing", "noreply", "sales", "hr", "admin", "ops")
            )
        return f"{local}@{self.choice(self.domains)}"

    def phone(self) -> str:
        if self.chance(0.7):
            return self.choice(self.pools[self.locale()].phone)
        r = self.rng
        return r.choice(
            (
                f"+1 ({r.randint(200, 989)}) {r.randint(200, 999)}-{r.randint(1000, 9999)}",
                f"({r.randint(200, 989)}) {r.randint(200, 999)}-{r.randint(1000, 9999)}",
                f"{r.randint(200, 989)}.{r.randint(200, 999)}.{r.randint(1000, 9999)}",
                f"+1-{r.randint(200, 989)}-{r.randint(200, 999)}-{r.randint(1000, 9999)}",
                f"+44 20 {r.randint(1000, 9999)} {r.randint(1000, 9999)}",
                f"07{r.randint(100, 999)} {r.randint(100000, 999999)}",
                f"+49 (0)30 {r.randint(1000, 9999)} {r.randint(1000, 9999)}",
                f"+33 6 {r.randint(10, 99)} {r.randint(10, 99)} {r.randint(10, 99)} {r.randint(10, 99)}",
                f"+91-{r.randint(70000, 99999)}-{r.randint(10000, 99999)}",
                f"{r.randint(2000000000, 9999999999)}",
            )
        )

    def number(self, lo: int = 1000, hi: int = 999999) -> str:
        return str(self.rng.randint(lo, hi))

    def date(self) -> str:
        r = self.rng
        y, m, d = r.randint(1950, 2025), r.randint(1, 12), r.randint(1, 28)
        return r.choice(
            (
                f"{y}-{m:02d}-{d:02d}",
                f"{m:02d}/{d:02d}/{y}",
                f"{d:02d}.{m:02d}.{y}",
                f"{d} {MONTHS[m - 1]} {y}",
                f"{MONTHS[m - 1]} {d}, {y}",
                f"{MONTHS[m - 1][:3]} {d}",
            )
        )

    def timestamp(self) -> str:
        r = self.rng
        return (
            f"2024-{r.randint(1, 12):02d}-{r.randint(1, 28):02d}T{r.randint(0, 23):02d}:"
            f"{r.randint(0, 59):02d}:{r.randint(0, 59):02d}"
            + r.choice(("Z", ".123Z", "+00:00", "", ".482913"))
        )

    def token(self, n: int = 12) -> str:
        alphabet = string.ascii_letters + string.digits
        return "".join(self.rng.choice(alphabet) for _ in range(n))

    def hexid(self, n: int = 8) -> str:
        return "".join(self.rng.choice("0123456789abcdef") for _ in range(n))

    def chars(self, alphabet: str, n: int) -> str:
        return "".join(self.rng.choice(alphabet) for _ in range(n))

    def code(self) -> str:
        """An identifier that is no name and no address: SKUs, order and tracking
        numbers, UUIDs, hashes, versions, timestamps, keys and tokens."""
        up, dig = string.ascii_uppercase, string.digits
        alnum = up + dig
        b64 = string.ascii_letters + dig
        r = self.rng.randrange(26)
        c = self.chars
        if r == 0:
            return f"{c(up, 3)}-{c(dig, 4)}-{c(up, 2)}"
        if r == 1:
            return f"SKU-{c(dig, 5)}" if self.chance(0.5) else f"SKU{c(alnum, 8)}"
        if r == 2:
            return f"{c(up, 2)}{c(dig, 4)}{c(up, 1)}"
        if r == 3:
            return f"ORD-{self.rng.randint(2019, 2025)}-{c(dig, 6)}"
        if r == 4:
            return c(dig, self.rng.choice((8, 9, 10, 12)))
        if r == 5:
            return f"PO-{c(dig, 5)}" if self.chance(0.5) else f"INV-{c(dig, 6)}"
        if r == 6:
            return f"1Z{c(alnum, 16)}"
        if r == 7:
            return " ".join(c(dig, 4) for _ in range(5)) + " " + c(dig, 2)
        if r == 8:
            return f"{c(up, 2)}{c(dig, 9)}{c(up, 2)}"
        if r == 9:
            u = f"{self.hexid(8)}-{self.hexid(4)}-{self.hexid(4)}-{self.hexid(4)}-{self.hexid(12)}"
            return u.upper() if self.chance(0.3) else u
        if r == 10:
            return self.hexid(self.rng.choice((7, 8, 12, 32, 40, 64)))
        if r == 11:
            return f"v{self.rng.randint(0, 12)}.{self.rng.randint(0, 40)}.{self.rng.randint(0, 99)}"
        if r == 12:
            return self.timestamp()
        if r == 13:
            return str(self.rng.randint(1_600_000_000, 1_800_000_000) * self.rng.choice((1, 1000)))
        if r == 14:
            return "AKIA" + c(alnum, 16)
        if r == 15:
            return c(b64 + "/+", 40)
        if r == 16:
            return self.rng.choice(("ghp_", "gho_", "ghs_")) + c(b64, 36)
        if r == 17:
            return "eyJ" + c(b64, 30) + "." + "eyJ" + c(b64, 40) + "." + c(b64 + "-_", 43)
        if r == 18:
            return self.rng.choice(("sk_live_", "pk_test_", "xoxb-", "glpat-")) + c(b64, 24)
        if r == 19:
            return f"{c(dig, 3)}-{c(dig, 2)}-{c(dig, 4)}"
        if r == 20:
            cc = self.rng.choice(("DE", "GB", "FR", "ES", "NL", "IT", "BE", "CH"))
            body = c(dig, 2) + " " + " ".join(c(alnum if cc == "GB" else dig, 4) for _ in range(4))
            return cc + body
        if r == 21:
            return " ".join(c(dig, 4) for _ in range(4))
        if r == 22:
            return ".".join(str(self.rng.randint(0, 255)) for _ in range(4))
        if r == 23:
            return f"{c(up, 1)}{c(dig, 8)}"
        if r == 24:
            return f"MRN{c(dig, 7)}" if self.chance(0.5) else f"{c(dig, 4)}-{c(dig, 7)}"
        return f"{c(up, 2)}-{c(dig, 3)}{c(up, 1)}"

    def product_line(self) -> str:
        """Item descriptions: numbers next to capitalised words, but no address."""
        colour = self.choice(COLOURS)
        item = self.choice(ITEMS)
        r = self.rng.randrange(8)
        if r == 0:
            return f"{self.code()} {colour} {item}"
        if r == 1:
            return f"{self.rng.randint(1, 12)} x {colour} {item} ({self.code()})"
        if r == 2:
            return f"{item} {colour}, Size {self.choice(('S', 'M', 'L', 'XL', '10', '42'))}"
        if r == 3:
            return f"Qty {self.rng.randint(1, 50)} {item} @ {self.rng.randint(2, 900)}.99"
        if r == 4:
            return f"{self.rng.randint(2, 500)} {item} Units Shipped"
        if r == 5:
            return f"{self.choice(PRODUCTS)} {self.rng.randint(2, 2030)} {colour} Edition"
        if r == 6:
            return f"{self.rng.randint(1, 9)} {colour} {item} Pack"
        return f"Model {self.code()} {item}"

    def filler(self, n: int = 1) -> str:
        return " ".join(self.choice(FILLER) for _ in range(n))

    def negative_phrase(self) -> str:
        """A capitalised phrase that is neither a person nor an address."""
        r = self.rng.random()
        if r < 0.22:
            return self.company()
        if r < 0.40:
            return self.city()
        if r < 0.50:
            return self.choice(PRODUCTS)
        if r < 0.58:
            return self.choice(STREET_IDIOMS)
        if r < 0.64:
            return self.choice(EPONYMS)
        if r < 0.72:
            return self.choice(COUNTRIES)
        if r < 0.80:
            return self.choice(DEPARTMENTS)
        if r < 0.86:
            return self.choice(MONTHS + WEEKDAYS)
        if r < 0.92:
            return self.job().title()
        return self.choice(HEADINGS)


def _ascii(text: str) -> str:
    return "".join(ch for ch in text if ch in string.ascii_lowercase)


# --------------------------------------------------------------------------- sentences
# Each returns a Doc fragment; documents are assembled from them.


LEAD_ROLES = (
    "Customer",
    "Client",
    "User",
    "Caller",
    "Member",
    "Patient",
    "Guest",
    "Buyer",
    "Shopper",
    "Tenant",
    "Subscriber",
    "Requester",
    "Applicant",
    "Candidate",
    "Employee",
    "Driver",
    "Technician",
    "Agent",
    "Courier",
    "Visitor",
    "Resident",
    "Student",
    "Account holder",
    "Our customer",
    "The customer",
    "Our technician",
    "Your colleague",
    "Contractor",
    "Manager",
    "Supervisor",
    "Vendor contact",
    "Volunteer",
    "Passenger",
    "Traveller",
)


TIME_LEADS = (
    "On {day}",
    "On {day},",
    "Yesterday",
    "Yesterday,",
    "This morning",
    "Last {day}",
    "Today",
    "Earlier today",
    "At {hh}:{mm}",
    "In {month}",
    "Since {month}",
    "Tomorrow",
    "After lunch",
    "On {day} morning",
    "Late on {day},",
    "Over the weekend",
)


def lead(w: World, d: Doc, n: Name) -> Doc:
    """A name starting a sentence, often after a role noun: "Customer Jane Doe ..."."""
    if w.chance(0.15):
        phrase = w.choice(TIME_LEADS).format(
            day=w.choice(WEEKDAYS),
            month=w.choice(MONTHS),
            hh=w.rng.randint(7, 18),
            mm=w.choice(("00", "15", "30", "45")),
        )
        d.add(phrase + " ")
    if not n.title and w.chance(0.35):
        role = w.choice(LEAD_ROLES)
        d.add((role.lower() if w.chance(0.15) else role) + " ")
        if w.chance(0.4):
            n = w.name(w.choice(("first", "first", "full")), titled=0)
    return d.person(n)


def s_person_sentence(w: World, d: Doc) -> None:
    """A sentence that mentions a person."""
    n = w.name()
    r = w.rng.randrange(30)
    c = w.company()
    if r == 0:
        lead(w, d, n).add(f" called about the invoice from {c}.")
    elif r == 1:
        d.add("I spoke with ").person(n).add(" earlier today and they confirmed the order.")
    elif r == 2:
        d.add("Per ").person(n).add(", the deadline moves to " + w.choice(WEEKDAYS) + ".")
    elif r == 3:
        lead(w, d, n).add(f" from {c} will join the call.")
    elif r == 4:
        d.add("Assigned to ").person(n).add(".")
    elif r == 5:
        d.add("Please loop in ").person(n).add(" on the next update.")
    elif r == 6:
        d.add("According to ").person(n).add(f", the shipment left {w.city()} on time.")
    elif r == 7:
        lead(w, d, n).add(" will follow up with the details.")
    elif r == 8:
        d.add("Meeting with ").person(n).add(" and ").person(w.name()).add(" moved to 3pm.")
    elif r == 9:
        lead(w, d, n).add(f", {w.job()} at {c}, approved the request.")
    elif r == 10:
        d.add("The account belongs to ").person(n).add(".")
    elif r == 11:
        d.add("Approved by ").person(n).add(" on " + w.date() + ".")
    elif r == 12:
        d.add("Thanks to ").person(n).add(" for covering the shift!")
    elif r == 13:
        lead(w, d, n).add(" asked whether the refund has been processed.")
    elif r == 14:
        d.add("Can you ask ").person(w.name("first")).add(" to send the report?")
    elif r == 15:
        d.add("The package was signed for by ").person(n).add(".")
    elif r == 16:
        lead(w, d, n).add(f" joined {c} in {w.choice(MONTHS)} as {w.job().lower()}.")
    elif r == 17:
        d.add("Emergency contact: ").person(n).add(f" ({w.phone()}).")
    elif r == 18:
        d.add("Forwarding this to ").person(n).add(" who owns the integration.")
    elif r == 19:
        d.add(f"Our {w.choice(DEPARTMENTS)} lead, ").person(n).add(", is out until Monday.")
    elif r == 20:
        d.add("Reported by ").person(n).add(f" <{w.email(n)}>.")
    elif r == 21:
        d.add("Reminder: ").person(w.name("first")).add(" is presenting tomorrow.")
    elif r == 22:
        d.add("Congratulations to ").person(n).add(" on the promotion!")
    elif r == 23:
        d.add("I've cc'd ").person(n).add(" here.")
    elif r == 24:
        d.add("Refund issued to ").person(n).add(" for order #" + w.number() + ".")
    elif r == 25:
        lead(w, d, n).add(" (" + w.choice(DEPARTMENTS) + ") owns this.")
    elif r == 26:
        d.add("Hand-over from ").person(n).add(" to ").person(w.name()).add(" is done.")
    elif r == 27:
        d.add("Interviewed ").person(n).add(f" for the {w.job().lower()} role.")
    elif r == 28:
        lead(w, d, n).add("'s laptop needs a new battery.")
    else:
        d.add("Contact person: ").person(n).add(".")


ROLE_NOUNS = (
    "Customer",
    "Patient",
    "Client",
    "Agent",
    "Technician",
    "Driver",
    "Caller",
    "Tenant",
    "Employee",
    "Contractor",
    "Applicant",
    "Candidate",
    "Student",
    "Guest",
    "Member",
    "Subscriber",
    "Account holder",
    "Buyer",
    "Seller",
    "Courier",
    "Nurse",
    "Physician",
    "Engineer",
    "Manager",
    "Supervisor",
    "Colleague",
    "Cardholder",
    "Beneficiary",
)
RELATIONS = (
    "my wife",
    "my husband",
    "my son",
    "my daughter",
    "my manager",
    "my colleague",
    "my neighbour",
    "our intern",
    "his mother",
    "her father",
    "their lawyer",
    "the landlord",
    "the new hire",
    "our accountant",
    "the patient's sister",
)


def s_person_sentence2(w: World, d: Doc) -> None:
    """Names introduced by roles, relations and reporting verbs."""
    n = w.name(titled=0.15)
    r = w.rng.randrange(27)
    role = w.choice(ROLE_NOUNS)
    if w.chance(0.5):
        role = role.lower()
    if r == 0:
        if w.chance(0.5):
            n = w.name(w.choice(("first", "full")), titled=0)
        d.add(f"{role.capitalize()} ").person(n)
        d.add(w.choice((f" ({w.email(n)})", "", "", f" <{w.email(n)}>", ",")))
        d.add(
            w.choice(
                (" says ", " reports ", " writes ", " called: ", " asked ", " wants to know why ")
            )
        )
        d.add(w.filler().lower())
    elif r == 1:
        d.add(f"The {role.lower()} ").person(n).add(
            " "
            + w.choice(
                (
                    "was not home.",
                    "requested a callback.",
                    "disputes the charge.",
                    "confirmed by phone.",
                )
            )
        )
    elif r == 2:
        d.add(w.choice(RELATIONS).capitalize() + ", ").person(n).add(", " + w.filler().lower())
    elif r == 3:
        d.add(f"I am writing on behalf of {w.choice(RELATIONS)} ").person(n).add(".")
    elif r == 4:
        d.add("Spoke to ").person(n).add(
            f" at {w.company()} about the {w.choice(PRODUCTS)} renewal."
        )
    elif r == 5:
        lead(w, d, n).add(w.choice((" said ", " mentioned ", " reported ", " noted ")))
        d.add(w.filler().lower())
    elif r == 6:
        d.add(f"Handled by {role.lower()} ").person(n).add(".")
    elif r == 7:
        d.add(f"{w.choice(WEEKDAYS)}: ").person(n).add(
            " " + w.choice(("is out sick.", "covers the front desk.", "on call.", "starts at 9."))
        )
    elif r == 8:
        d.add(w.choice(("Name on card: ", "Cardholder: ", "Beneficiary: ", "Payee: ")))
        d.person(n)
    elif r == 9:
        d.add("Thanks, ").person(w.name("first", titled=0)).add(w.choice(("!", ".", " :)")))
    elif r == 10:
        d.add(f"{w.choice(MONTHS)} rota: ").person(n).add(", ").person(w.name(titled=0))
        d.add(" and ").person(w.name(titled=0)).add(".")
    elif r == 11:
        d.add("Signed for by ").person(n).add(
            f" at {w.rng.randint(1, 12)}:{w.rng.randint(10, 59)}."
        )
    elif r == 12:
        d.add("Please call ").person(n).add(f" back on {w.phone()}.")
    elif r == 13:
        d.add("Witness: ").person(n).add("; " + w.choice(ROLE_NOUNS).lower() + ": ")
        d.person(w.name(titled=0))
    elif r == 14:
        d.add(f"{w.company()} contact ").person(n).add(" has left the company.")
    elif r == 15:
        d.add("Booked under the name ").person(n).add(".")
    elif r == 16:
        d.add("Hi, this is ").person(w.name(w.choice(("first", "full")), titled=0))
        d.add(f" from {w.company()}.")
    elif r == 17:
        d.add(f"Visited {w.city()} with ").person(n).add(".")
    elif r == 18:
        d.add("Owner changed from ").person(n).add(" to ").person(w.name(titled=0)).add(".")
    elif r == 20:
        d.add(w.choice(ASIDE_LEADS) + " (").person(n).add(w.choice(("): ", ") - ", "). ")))
        d.add(w.filler())
    elif r == 21:
        d.add(w.filler()[:-1] + " (").person(n)
        d.add(w.choice((")", f", {w.choice(DEPARTMENTS)})", f", ext. {w.number(100, 9999)})")))
        d.add(".")
    elif r == 22:
        d.add("[").person(n).add("] " + w.filler())
    elif r == 23:
        d.add(w.choice(THANKS) + ", ").person(w.name(w.choice(("first", "full", "last"))))
        d.add(w.choice((".", "!", " :)")))
    elif r == 24:
        d.add(f"{w.choice(ITEMS)} returned by ").person(n).add(f" ({w.choice(STATUS_WORDS)}).")
    elif r == 25:
        d.add(f"{w.company()} (contact: ").person(n).add(") " + w.filler().lower())
    else:
        d.add(f"Account {w.code()} holder: ").person(n)


ASIDE_LEADS = (
    "Notes from the site visit",
    "Call summary",
    "Feedback",
    "Escalated to tier 2",
    "Second opinion",
    "Update from the field",
    "Interview notes",
    "Comment",
    "Handover",
    "Approved",
    "Checked",
    "Reviewed",
    "Signed off",
    "Minutes",
    "Observation",
)
THANKS = (
    "Thanks",
    "Thank you",
    "Many thanks",
    "Merci",
    "Merci beaucoup",
    "Danke",
    "Vielen Dank",
    "Gracias",
    "Muchas gracias",
    "Grazie",
    "Grazie mille",
    "Bedankt",
    "Dank je",
    "Obrigado",
    "Obrigada",
    "Dziękuję",
    "Cheers",
    "Kind thanks",
)


def s_address_sentence(w: World, d: Doc) -> None:
    """A sentence that mentions an address."""
    a = w.address(w.rng.choice(("street", "line", "line")))
    r = w.rng.randrange(16)
    if r == 0:
        d.add("Please ship to ").ent(a, STREET_ADDRESS).add(".")
    elif r == 1:
        d.add("The customer now lives at ").ent(a, STREET_ADDRESS).add(".")
    elif r == 2:
        d.add("Billing address: ").ent(a, STREET_ADDRESS)
    elif r == 3:
        d.add("Deliver to ").ent(a, STREET_ADDRESS).add(" between 9 and 5.")
    elif r == 4:
        d.add("Our new office is at ").ent(a, STREET_ADDRESS).add(".")
    elif r == 5:
        d.add("Mailing address on file: ").ent(a, STREET_ADDRESS)
    elif r == 6:
        d.add("The parcel was left at ").ent(a, STREET_ADDRESS).add(" by the courier.")
    elif r == 7:
        d.add("New address - ").ent(a, STREET_ADDRESS)
    elif r == 8:
        d.add("Moved from ").ent(a, STREET_ADDRESS).add(" to ")
        d.ent(w.address("line"), STREET_ADDRESS).add(".")
    elif r == 9:
        d.add("Service visit scheduled at ").ent(a, STREET_ADDRESS)
        d.add(f" on {w.choice(WEEKDAYS)}.")
    elif r == 10:
        d.add("Return the device to ").ent(a, STREET_ADDRESS).add(".")
    elif r == 11:
        d.add("Residence: ").ent(a, STREET_ADDRESS)
    elif r == 12:
        d.add("Pick-up location is ").ent(a, STREET_ADDRESS).add(f" ({w.company()}).")
    elif r == 13:
        d.add("Correspondence should go to ").ent(a, STREET_ADDRESS).add(".")
    elif r == 14:
        d.add("Registered at ").ent(a, STREET_ADDRESS).add(" since " + w.date() + ".")
    else:
        d.add("Address: ").ent(a, STREET_ADDRESS)


def s_negative_sentence(w: World, d: Doc) -> None:
    """A sentence full of capitalised words that are not names or addresses."""
    r = w.rng.randrange(32)
    c, city = w.company(), w.city()
    if r == 0:
        d.add(f"{c} renewed the contract for another year.")
    elif r == 1:
        d.add(f"Our {city} office is closed on {w.choice(WEEKDAYS)}.")
    elif r == 2:
        d.add(f"Flights from {city} to {w.city()} are delayed.")
    elif r == 3:
        d.add(f"The {w.choice(PRODUCTS)} update broke single sign-on.")
    elif r == 4:
        d.add(f"Read it in the {w.choice(STREET_IDIOMS)} this morning.")
    elif r == 5:
        d.add(f"History of {w.choice(EPONYMS)}.")
    elif r == 6:
        d.add(f"Invoice from {c} is overdue since {w.choice(MONTHS)}.")
    elif r == 7:
        d.add(f"{w.choice(HEADINGS)}: {w.choice(STATUS_WORDS)}")
    elif r == 8:
        d.add(f"The warehouse in {city}, {w.choice(COUNTRIES)} ships on {w.choice(WEEKDAYS)}.")
    elif r == 9:
        d.add(f"{w.choice(DEPARTMENTS)} signed off on the {w.choice(PRODUCTS)} rollout.")
    elif r == 10:
        d.add(f"Vendor: {c}")
    elif r == 11:
        d.add(f"We are hiring a {w.job()} in {city}.")
    elif r == 12:
        d.add(f"Started {w.choice(DRUGS)} 500 mg twice daily for {w.choice(CONDITIONS)}.")
    elif r == 13:
        d.add(f"{w.choice(EXCEPTIONS)} in {w.choice(SERVICES)} after the upgrade.")
    elif r == 14:
        d.add(f"Dear {w.choice(ROLES)},")
    elif r == 15:
        d.add(f"Hi {w.choice(ROLES).lower() if w.chance(0.5) else w.choice(ROLES)},")
    elif r == 16:
        d.add(f"{w.choice(ROLES)}: {w.filler()}")
    elif r == 17:
        d.add(f"Conference in {city} from {w.choice(MONTHS)} 3 to 5.")
    elif r == 18:
        d.add(f"{c} and {w.company()} announced a merger.")
    elif r == 19:
        d.add(f"The {w.choice(STREET_IDIOMS)} episode was great.")
    elif r == 20:
        d.add(f"Traffic on {w.choice(STREET_IDIOMS)} made everyone late.")
    elif r == 21:
        d.add(f"Room {w.rng.randint(1, 999)}, Building {w.rng.randint(1, 40)}, {c} campus.")
    elif r == 22:
        d.add(f"Order {w.number()} Shipped via {w.choice(REAL_COMPANIES[-20:])}.")
    elif r == 23:
        d.add(f"{w.rng.randint(2, 500)} Units of {w.choice(PRODUCTS)} in stock at {city}.")
    elif r == 24:
        d.add(f"Terminal {w.rng.randint(1, 5)}, Gate {w.choice('ABCD')}{w.rng.randint(1, 40)}.")
    elif r == 25:
        d.add(f"The {city} Marathon is on {w.choice(MONTHS)} {w.rng.randint(1, 28)}.")
    elif r == 26:
        d.add(f"{w.choice(WORD_NAMES).lower()} you {w.filler().lower()}")
    elif r == 27:
        d.add(f"Welcome to {c}! {w.filler()}")
    elif r == 28:
        d.add(f"{w.negative_phrase()} - {w.negative_phrase()}")
    elif r == 29:
        d.add(f"Q{w.rng.randint(1, 4)} Report: {c} revenue up in {city}.")
    elif r == 30:
        d.add(f"Version {w.rng.randint(1, 9)}.{w.rng.randint(0, 20)} Released {w.date()}.")
    else:
        d.add(w.filler())


def sentence(w: World, d: Doc, p_person: float = 0.35, p_address: float = 0.15) -> None:
    r = w.rng.random()
    if r < p_person:
        if w.chance(0.4):
            s_person_sentence2(w, d)
        else:
            s_person_sentence(w, d)
    elif r < p_person + p_address:
        s_address_sentence(w, d)
    elif r < 0.8:
        s_negative_sentence(w, d)
    else:
        d.add(w.filler())


def paragraph(w: World, d: Doc, n: int, p_person: float = 0.35, p_address: float = 0.15) -> None:
    for i in range(n):
        if i:
            d.add(" ")
        sentence(w, d, p_person, p_address)


# --------------------------------------------------------------------------- genres

GREETINGS = (
    "Dear {t}",
    "Hi {f}",
    "Hello {f}",
    "Hey {f}",
    "Good morning {f}",
    "Dear {f}",
    "Hi {n}",
    "Hello {n}",
    "Dear {n}",
    "{f}",
    "Morning {f}",
    "Hallo {f}",
    "Liebe {f}",
    "Sehr geehrte {t}",
    "Bonjour {f}",
    "Cher {f}",
    "Hola {f}",
    "Estimado {t}",
    "Ciao {f}",
    "Gentile {t}",
    "Beste {f}",
    "Geachte {t}",
    "Olá {f}",
    "Prezado {t}",
    "Dzień dobry {f}",
    "Szanowna {t}",
    "Namaste {f}",
    "Hi there {f}",
    "Thanks {f}",
)
CLOSINGS = (
    "Best regards",
    "Kind regards",
    "Regards",
    "Thanks",
    "Thank you",
    "Cheers",
    "Best",
    "Sincerely",
    "Yours sincerely",
    "Warm regards",
    "Many thanks",
    "All the best",
    "Mit freundlichen Grüßen",
    "Viele Grüße",
    "Cordialement",
    "Bien à vous",
    "Saludos",
    "Un saludo",
    "Cordiali saluti",
    "Met vriendelijke groet",
    "Groetjes",
    "Atenciosamente",
    "Abraços",
    "Pozdrawiam",
    "Z poważaniem",
    "Thanks & regards",
)


def greeting(w: World, d: Doc) -> None:
    if w.chance(0.12):
        d.add(w.choice(("Dear ", "Hi ", "Hello ")) + w.choice(ROLES))
    else:
        tmpl = w.choice(GREETINGS)
        head, _, tail = tmpl.partition("{")
        key = tail[0]
        d.add(head)
        if key == "t":
            n = w.name("last")
            if w.chance(0.3):
                n = Name(w.name("full", titled=0).text, n.title)
            d.person(n)
        elif key == "f":
            d.person(w.name("first", titled=0))
        else:
            d.person(w.name(titled=0))
    d.add(w.choice((",", ",", ",", "!", ":", "", " -")))


def signature(w: World, d: Doc, who: Name | None = None) -> None:
    n = who or w.name(titled=0.05)
    lines: list[Callable[[], object]] = []
    if w.chance(0.6):
        lines.append(lambda: d.add(w.job()))
    company = w.company()
    if w.chance(0.7):
        lines.append(lambda: d.add(company))
    if w.chance(0.55):
        a = w.address("lines" if w.chance(0.6) else "line")
        lines.append(lambda: d.ent(a, STREET_ADDRESS))
    if w.chance(0.6):
        lines.append(lambda: d.add(w.choice(("Tel: ", "Phone: ", "T: ", "M: ", "")) + w.phone()))
    if w.chance(0.5):
        lines.append(lambda: d.add(w.email(n)))
    if w.chance(0.2):
        lines.append(lambda: d.add("www." + w.choice(w.domains)))
    if w.chance(0.2):
        # Everything on one line, separated by bars.
        d.person(n)
        for part in lines:
            d.add(" | ")
            part()
        return
    d.person(n)
    for part in lines:
        d.add("\n")
        part()


def g_email(w: World) -> Doc:
    d = Doc()
    sender, rcpt = w.name(titled=0), w.name(titled=0)
    if w.chance(0.45):
        d.add("From: ").person(sender).add(f" <{w.email(sender)}>\n")
        d.add("To: ")
        if w.chance(0.8):
            d.person(rcpt).add(f" <{w.email(rcpt)}>\n")
        else:
            d.add(w.email() + "\n")
        if w.chance(0.3):
            d.add("Cc: ").person(w.name(titled=0)).add("\n")
        subject = w.choice(
            (
                "Invoice " + w.number(),
                "Re: " + w.choice(HEADINGS),
                "Quick question",
                f"{w.company()} renewal",
                "Meeting on " + w.choice(WEEKDAYS),
                "Fwd: " + w.choice(PRODUCTS) + " issue",
                "Your order #" + w.number(),
                "Address change",
                "Welcome to " + w.company(),
            )
        )
        d.add(f"Subject: {subject}\n")
        if w.chance(0.4):
            d.add(f"Date: {w.choice(WEEKDAYS)[:3]}, {w.date()}\n")
        d.add("\n")
    greeting(w, d)
    d.add(w.choice(("\n\n", "\n", " ")))
    paragraph(w, d, w.rng.randint(1, 4))
    if w.chance(0.3):
        d.add("\n\n")
        paragraph(w, d, w.rng.randint(1, 3))
    d.add("\n\n" if w.chance(0.7) else "\n")
    d.add(w.choice(CLOSINGS) + w.choice((",", ",", "", "!")) + "\n")
    signature(w, d, sender if w.chance(0.8) else None)
    if w.chance(0.15):
        d.add("\n\nOn " + w.date() + ", ").person(w.name(titled=0))
        d.add(f" <{w.email()}> wrote:\n> {w.filler()}")
    return d


def chat_prefix(w: World, d: Doc, style: int, speaker: Name | str) -> None:
    """One chat line's header in the layout of a common messenger or transcript."""
    r = w.rng

    def who() -> None:
        if isinstance(speaker, str):
            d.add(speaker)
        else:
            d.person(speaker)

    hh, mm = r.randint(0, 23), r.randint(0, 59)
    if style == 0:
        who()
        d.add(w.choice((": ", ": ", ":  ")))
    elif style == 1:
        d.add(f"[{hh:02d}:{mm:02d}] ")
        who()
        d.add(": ")
    elif style == 2:
        d.add(w.timestamp()[:16].replace("T", " ") + " ")
        who()
        d.add(w.choice((": ", " - ", " | ")))
    elif style == 3:
        d.add(
            f"[{r.randint(1, 28)}/{r.randint(1, 12)}/2024, {hh:02d}:{mm:02d}:{r.randint(0, 59):02d}] "
        )
        who()
        d.add(": ")
    elif style == 4:
        d.add(
            f"{r.randint(1, 12)}/{r.randint(1, 28)}/24, {hh % 12 + 1}:{mm:02d} {w.choice(('AM', 'PM'))} - "
        )
        who()
        d.add(": ")
    elif style == 5:
        d.add("<")
        who()
        d.add("> ")
    elif style == 6:
        who()
        d.add(f"  {hh % 12 + 1}:{mm:02d} {w.choice(('AM', 'PM'))}\n")
    elif style == 7:
        who()
        d.add(f" ({hh:02d}:{mm:02d}): ")
    elif style == 8:
        d.add("**")
        who()
        d.add("**: ")
    elif style == 9:
        who()
        d.add(" — " + w.choice(("Today", "Yesterday")) + f" at {hh % 12 + 1}:{mm:02d} PM\n")
    elif style == 10:
        who()
        d.add(w.choice((" said: ", " wrote: ", " > ", " >> ")))
    else:
        who()
        d.add(":\n")


def g_chat(w: World) -> Doc:
    d = Doc()
    full = w.chance(0.3)
    people = [w.name("full" if full else "first", titled=0) for _ in range(w.rng.randint(1, 4))]
    if w.chance(0.04):
        people = [Name(p.text.upper(), first=p.first, last=p.last) for p in people]
    # The plain "Name: message" transcript is the commonest layout.
    style = 0 if w.chance(0.35) else w.rng.randrange(12)
    lines = w.rng.choice((1, 2, 2, 3, 4, 5, 6, 8))
    for i in range(lines):
        if i:
            d.add("\n")
        if w.chance(0.1):
            speaker: Name | str = w.choice(
                (
                    "Bot",
                    "System",
                    "Support",
                    "Agent",
                    "Moderator",
                    "admin",
                    "Customer",
                    "You",
                    "Me",
                    "Assistant",
                    "AutoReply",
                    "Helpdesk",
                    "Operator",
                    "Visitor",
                    "Guest",
                )
            )
        elif w.chance(0.7):
            speaker = people[i % len(people)]
        else:
            speaker = w.choice(people)
        chat_prefix(w, d, style, speaker)
        chat_message(w, d, people)
    return d


INTERJECTIONS = (
    "Sure",
    "Yes",
    "Yeah",
    "Nope",
    "Great",
    "Perfect",
    "Awesome",
    "Morning",
    "Cool",
    "Done",
    "Noted",
    "Agreed",
    "Thanks",
    "Cheers",
    "Okay",
    "Alright",
    "Hmm",
    "Wow",
    "Oops",
    "Sorry",
    "Congrats",
    "Welcome",
    "Hello",
    "Hey",
    "Update",
    "Heads up",
    "FYI",
    "Quick question",
    "Good news",
    "Bad news",
    "Reminder",
    "Correction",
    "Absolutely",
    "Exactly",
    "Right",
)


def chat_message(w: World, d: Doc, people: Sequence[Name]) -> None:
    r = w.rng.randrange(20)
    other = w.choice([p.first or p.text for p in people]) if people else w.name("first").text
    if r == 0:
        d.add(w.choice(("hey ", "hi ", "thanks ", "ok ", "morning ", "thx ", "yo ", "Hi ")))
        d.ent(other, PERSON).add(w.choice(("!", "", " :)", ", quick q", "?", " 👋")))
    elif r == 1:
        d.add("@").ent(other, PERSON).add(" " + w.filler().lower())
    elif r == 2:
        d.add(w.choice(("did you talk to ", "ping ", "ask ", "waiting on ", "cc ", "is ")))
        d.person(w.name(w.choice(("first", "full")), titled=0))
        d.add(w.choice(("?", " around?", " in today?", "")))
    elif r == 3:
        d.add(w.choice(("can you send it to ", "ship it to ", "my new address is ", "I'm at ")))
        d.ent(w.address(w.choice(("line", "street"))), STREET_ADDRESS)
    elif r == 4:
        d.add(f"meeting in {w.city()} on {w.choice(WEEKDAYS)}?")
    elif r == 5:
        d.add(f"{w.company()} just called, they want the {w.choice(PRODUCTS)} demo")
    elif r == 6:
        d.add(w.choice(("lol", "ok", "sure", "np", "👍", "yes", "no worries", "brb", "ty", "OK!")))
    elif r == 7:
        sentence(w, d)
    elif r == 8:
        d.add(w.filler().lower())
    elif r == 9:
        d.add(w.choice(("Sure thing ", "Thanks ", "Got it ", "Love it ", "Sorry ", "Cheers ")))
        d.ent(other, PERSON).add(w.choice(("!", ".", "", ", will do")))
    elif r == 10:
        d.add("order " + w.code() + " " + w.choice(STATUS_WORDS).lower())
    elif r == 11:
        d.add(f"is the {w.choice(STREET_IDIOMS)} thing still on?")
    elif r == 12:
        d.add(f"I ordered the {w.product_line()}")
    elif r == 13:
        d.add(f"{w.choice(MONTHS)} works, {w.choice(WEEKDAYS)} is bad")
    elif r == 14:
        d.add(f"tracking is {w.code()}, arrives {w.choice(WEEKDAYS)}")
    elif r == 15:
        d.add(w.choice(("I'm ", "this is ", "It's ", "My name is "))).person(w.name(titled=0))
        d.add(w.choice((" from ", " at ")) + w.company())
    elif r == 16:
        d.add(w.choice(WORD_NAMES).lower() + " " + w.filler().lower())
    elif r in (17, 18):
        d.add(w.choice(INTERJECTIONS) + w.choice((", ", "! ", " - ", ". ")) + w.filler().lower())
    else:
        d.add(w.filler())


TICKET_KEYS_PERSON = (
    "Customer",
    "Name",
    "Requester",
    "Reported by",
    "Contact",
    "Caller",
    "Account holder",
    "Submitted by",
    "Assignee",
    "Assigned to",
    "Agent",
    "Owner",
    "Full name",
    "Client",
    "Technician",
    "Approver",
    "Kunde",
    "Nom",
    "Nombre",
    "Nome",
    "Naam",
    "Imię i nazwisko",
)
TICKET_KEYS_ADDRESS = (
    "Address",
    "Shipping address",
    "Billing address",
    "Ship to",
    "Service address",
    "Site",
    "Location",
    "Home address",
    "Delivery address",
    "Mailing address",
    "Anschrift",
    "Adresse",
    "Dirección",
    "Indirizzo",
    "Adres",
    "Endereço",
)


def g_ticket(w: World) -> Doc:
    d = Doc()
    if w.chance(0.3):
        # A ticket body on its own, as pasted from a form or an e-mail.
        paragraph(w, d, w.rng.randint(1, 4), 0.5, 0.15)
        return d
    d.add(w.choice(("Ticket", "Case", "Incident", "Request", "INC", "SR")))
    d.add(w.choice((" #", " ", "-")) + w.number() + w.choice(("\n", " | ", "\n\n")))
    fields: list[Callable[[], object]] = []
    cust = w.name(titled=0.05)

    def kv(key: str, fill: Callable[[], object]) -> Callable[[], object]:
        def run() -> None:
            d.add(key + w.choice((": ", ": ", " - ", ":\t", " = ")))
            fill()

        return run

    fields.append(kv(w.choice(TICKET_KEYS_PERSON), lambda: d.person(cust)))
    if w.chance(0.5):
        fields.append(kv("Email", lambda: d.add(w.email(cust))))
    if w.chance(0.4):
        fields.append(kv("Phone", lambda: d.add(w.phone())))
    if w.chance(0.45):
        a = w.address("line" if w.chance(0.7) else "street")
        fields.append(kv(w.choice(TICKET_KEYS_ADDRESS), lambda: d.ent(a, STREET_ADDRESS)))
    if w.chance(0.5):
        key = w.choice(
            (
                "Company",
                "Account",
                "Organization",
                "Organisation",
                "Vendor",
                "Client",
                "Customer",
                "Site",
                "Tenant",
                "Employer",
            )
        )
        fields.append(kv(key, lambda: d.add(w.company())))
    if w.chance(0.15):
        fields.append(
            kv("Bank", lambda: d.add(f"{w.choice(REAL_COMPANIES[:60])}, IBAN {w.code()}"))
        )
    if w.chance(0.3):
        fields.append(
            kv(
                w.choice(("Order", "Reference", "SKU", "Tracking", "Serial")),
                lambda: d.add(w.code()),
            )
        )
    if w.chance(0.3):
        fields.append(kv("City", lambda: d.add(w.city())))
    if w.chance(0.5):
        fields.append(kv("Priority", lambda: d.add(w.choice(STATUS_WORDS))))
    if w.chance(0.5):
        fields.append(kv("Status", lambda: d.add(w.choice(STATUS_WORDS))))
    if w.chance(0.4):
        fields.append(kv("Product", lambda: d.add(w.choice(PRODUCTS))))
    if w.chance(0.4):
        agent = w.name(titled=0)
        fields.append(kv(w.choice(("Assigned to", "Agent", "Owner")), lambda: d.person(agent)))
    w.rng.shuffle(fields)
    sep = w.choice(("\n", "\n", " | ", "; "))
    for i, f in enumerate(fields):
        if i:
            d.add(sep)
        f()
    d.add("\n" + w.choice(("Description: ", "Summary: ", "Notes: ", "\n", "Details:\n")))
    paragraph(w, d, w.rng.randint(1, 4), 0.35, 0.15)
    if w.chance(0.4):
        d.add("\n" + w.choice(("Update: ", "Resolution: ", "Agent note: ", "-- ")))
        paragraph(w, d, w.rng.randint(1, 2))
    return d


def g_clinical(w: World) -> Doc:
    d = Doc()
    pt = w.name(titled=0)
    doc_name = w.name(w.choice(("last", "full", "full")), titled=0)
    doc_name = Name(doc_name.text, w.choice(("Dr.", "Dr", "Doctor", "Dr.")))
    if w.chance(0.6):
        d.add(w.choice(("Patient: ", "Patient name: ", "Name: ", "PATIENT: ", "Pt: ")))
        d.person(pt).add(w.choice(("\n", " | ", ", ")))
        if w.chance(0.6):
            d.add(w.choice(("DOB: ", "Date of birth: ", "D.O.B. ")) + w.date() + "\n")
        if w.chance(0.5):
            d.add(w.choice(("MRN: ", "MRN ", "Chart #: ")) + w.number(100000, 9999999) + "\n")
        if w.chance(0.3):
            d.add("Address: ").ent(w.address("line"), STREET_ADDRESS).add("\n")
        if w.chance(0.5):
            d.add(w.choice(("Attending: ", "Provider: ", "Physician: ", "Seen by: ")))
            d.person(doc_name).add("\n")
        d.add(w.choice(("Department: ", "Unit: ", "Clinic: ")) + w.choice(DEPARTMENTS) + "\n")
    age = w.rng.randint(18, 95)
    sex = w.choice(("male", "female", "man", "woman", "M", "F"))
    r = w.rng.randrange(6)
    if r == 0:
        d.person(pt).add(f" is a {age}-year-old {sex} presenting with chest pain. ")
    elif r == 1:
        d.add(f"{age} y/o {sex} with history of {w.choice(CONDITIONS)}. ")
    elif r == 2:
        d.add("Pt ").person(Name(pt.last, w.choice(("Mr.", "Mrs.", "Ms.")))).add(
            f" seen for follow-up of {w.choice(EPONYMS[:20])}. "
        )
    elif r == 3:
        d.add("Referred by ").person(doc_name).add(f" for evaluation of {w.choice(CONDITIONS)}. ")
    elif r == 4:
        d.add(f"Assessment: {w.choice(CONDITIONS)}, stable. Plan: continue {w.choice(DRUGS)}. ")
    else:
        d.add(w.choice(("Chief complaint: ", "CC: ", "HPI: ")) + w.filler() + " ")
    for _ in range(w.rng.randint(1, 3)):
        r = w.rng.randrange(9)
        if r == 0:
            d.add(f"Started {w.choice(DRUGS)} {w.rng.choice((5, 10, 20, 40, 500))} mg daily. ")
        elif r == 1:
            d.add("Lives with ").person(w.name(w.choice(("first", "full")), titled=0))
            d.add(w.choice((" (spouse). ", ", daughter. ", " (son) at ", ". ")))
            if d.parts[-1].endswith("at "):
                d.ent(w.address("line"), STREET_ADDRESS).add(". ")
        elif r == 2:
            d.add(f"Family history of {w.choice(EPONYMS[:20])}. ")
        elif r == 3:
            d.add("Discussed with ").person(doc_name).add(f" from {w.choice(DEPARTMENTS)}. ")
        elif r == 4:
            d.add(f"Transferred to {w.choice(EPONYMS[-12:])}. ")
        elif r == 5:
            d.add("Signed: ").person(Name(w.name("full", titled=0).text)).add(
                w.choice((", RN", ", MD", ", NP", "")) + ". "
            )
        elif r in (6, 7, 8):
            d.add(clinical_noise(w) + w.choice((" ", "\n", ". ")))
        else:
            d.add(w.filler() + " ")
    return d


def clinical_noise(w: World) -> str:
    """Clinical shorthand: numbers beside capitalised words, none of them an address."""
    r = w.rng
    k = r.randrange(16)
    if k == 0:
        vitals = [
            f"BP {r.randint(95, 180)}/{r.randint(55, 110)}",
            f"HR {r.randint(50, 120)}",
            f"RR {r.randint(10, 24)}",
            f"SpO2 {r.randint(88, 100)}%{w.choice(('', ' RA', ' on 2L'))}",
            f"T {r.randint(36, 39)}.{r.randint(0, 9)}",
            f"Temp {r.randint(97, 102)}.{r.randint(0, 9)} F",
            f"Wt {r.randint(45, 130)} kg",
        ]
        r.shuffle(vitals)
        head = w.choice(("", "VS: ", "Vitals: ", "V/S: ", "O: "))
        tail = w.choice(
            ("", ". A/P: " + w.choice(CONDITIONS), ". S/O: stable", ". Plan: " + w.choice(DRUGS))
        )
        return head + w.choice((", ", "; ", " ")).join(vitals[: r.randint(2, 6)]) + tail
    if k == 1:
        return f"Room {r.randint(100, 999)}, Bed {w.choice('ABCD')}, {w.choice(DEPARTMENTS)} Ward {r.randint(1, 12)}"
    if k == 2:
        return f"{w.choice(DRUGS)} {r.choice((2.5, 5, 10, 25, 50, 100, 500, 1000))} mg {w.choice(('PO', 'IV', 'BID', 'TID', 'QD', 'PRN'))}"
    if k == 3:
        return (
            f"Dx: {w.choice(CONDITIONS)} ({w.choice('EIJKM')}{r.randint(10, 99)}.{r.randint(0, 9)})"
        )
    if k == 4:
        return f"Follow up in {r.randint(1, 12)} {w.choice(('Weeks', 'weeks', 'Months', 'days'))} at {w.choice(DEPARTMENTS)} Clinic"
    if k == 5:
        return f"Appointment {w.choice(WEEKDAYS)} {r.randint(8, 17)}:{w.choice(('00', '15', '30', '45'))}, Building {r.randint(1, 9)}, Floor {r.randint(1, 6)}"
    if k == 6:
        return f"Labs: WBC {r.randint(3, 15)}.{r.randint(0, 9)}, Hgb {r.randint(8, 17)}.{r.randint(0, 9)}, Na {r.randint(128, 148)}, K {r.randint(3, 5)}.{r.randint(0, 9)}"
    if k == 7:
        return f"Insurance: {w.choice(('Aetna', 'Cigna', 'Blue Cross Blue Shield', 'UnitedHealthcare', 'Medicare', 'AOK', 'Bupa'))} Plan {w.code()}"
    if k == 8:
        return f"Allergies: {w.choice(('Penicillin', 'Sulfa', 'NKDA', 'Latex', 'Peanuts'))}"
    if k == 9:
        return f"Pharmacy: {w.choice(('CVS Pharmacy', 'Walgreens', 'Boots', 'Rite Aid'))} #{r.randint(100, 99999)}"
    if k == 10:
        return f"{r.randint(1, 3)} Tablets {w.choice(('Twice', 'Three Times', 'Once'))} Daily"
    if k == 11:
        return f"Admitted {w.date()} via {w.choice(('ED', 'Emergency Department', 'Outpatient Clinic'))}; discharged to {w.choice(('Home', 'Rehab', 'SNF'))}"
    if k == 12:
        return f"MRI Brain {w.date()}: No Acute Findings"
    if k == 13:
        return "Ordered CBC, BMP, HbA1c and Lipid Panel; ECG shows Sinus Rhythm"
    if k == 14:
        return f"Hospital: {w.choice(EPONYMS[-12:])}, {w.city()}"
    return f"Care Team: {w.choice(DEPARTMENTS)} / {w.choice(DEPARTMENTS)}"


CSV_PERSON_COLS = (
    "name",
    "full_name",
    "customer",
    "contact",
    "employee",
    "patient",
    "owner",
    "Name",
    "customer_name",
    "Contact Name",
    "holder",
    "recipient",
    "assignee",
    "agent",
)
CSV_NEG_COLS = (
    "company",
    "city",
    "country",
    "product",
    "status",
    "department",
    "plan",
    "state",
    "zip",
    "sku",
    "order_id",
    "tracking",
    "item",
    "region",
    "carrier",
    "iban",
    "ip",
    "card",
    "ssn",
    "dob",
    "uuid",
    "notes",
)


def csv_value(w: World, col: str, n: Name) -> tuple[str, str]:
    """A cell for column ``col`` and its label ('' for none)."""
    simple: dict[str, Callable[[], str]] = {
        "id": lambda: w.number(1, 99999),
        "email": lambda: w.email(n),
        "phone": w.phone,
        "company": w.company,
        "city": w.city,
        "country": lambda: w.choice(COUNTRIES),
        "product": lambda: w.choice(PRODUCTS),
        "status": lambda: w.choice(STATUS_WORDS),
        "department": lambda: w.choice(DEPARTMENTS),
        "plan": lambda: w.choice(PRODUCTS[-20:]),
        "state": lambda: w.choice(w.pools["en_US"].state),
        "zip": lambda: w.number(10000, 99999),
        "sku": w.code,
        "order_id": w.code,
        "tracking": w.code,
        "item": w.product_line,
        "region": lambda: w.choice(("EMEA", "APAC", "NA", "LATAM", "eu-west-1", "North")),
        "carrier": lambda: w.choice(REAL_COMPANIES[-30:]),
        "iban": w.code,
        "ip": w.code,
        "card": w.code,
        "ssn": w.code,
        "dob": w.date,
        "uuid": w.code,
        "notes": lambda: w.negative_phrase() if w.chance(0.5) else w.filler(),
        "amount": lambda: f"{w.rng.randint(1, 9999)}.{w.rng.randint(0, 99):02d}",
        "created_at": w.timestamp,
    }
    if col == "first_name":
        return n.first, PERSON
    if col == "last_name":
        return n.last, PERSON
    if col in CSV_PERSON_COLS:
        return n.text, PERSON
    if col == "address":
        return w.address("line"), STREET_ADDRESS
    if col == "street":
        return w.address("street"), STREET_ADDRESS
    return simple.get(col, w.timestamp)(), ""


def g_csv(w: World) -> Doc:
    d = Doc()
    delim = w.choice((",", ",", ",", ";", "|", "\t"))
    cols: list[str] = ["id"] if w.chance(0.5) else []
    if w.chance(0.25):
        cols += ["first_name", "last_name"]
    else:
        cols.append(w.choice(CSV_PERSON_COLS))
    extra = ["email", "phone", "address", "street", *CSV_NEG_COLS, "amount", "created_at"]
    w.rng.shuffle(extra)
    cols += extra[: w.rng.randint(2, 6)]
    if "street" in cols and "address" in cols:
        cols.remove("street")
    if w.chance(0.4):
        w.rng.shuffle(cols)
    header = [c.upper() if w.chance(0.1) else c for c in cols]
    if w.chance(0.7):
        d.add(delim.join(header) + "\n")
    quote_all = w.chance(0.2)
    for row in range(w.rng.randint(1, 6)):
        if row:
            d.add("\n")
        n = w.name(titled=0)
        for j, col in enumerate(cols):
            if j:
                d.add(delim)
            value, kind = csv_value(w, col, n)
            quoted = quote_all or delim in value or ("," in value and w.chance(0.5))
            if delim in value and not quoted:
                quoted = True
            if quoted:
                d.add('"')
            if kind:
                d.ent(value, kind)
            else:
                d.add(value)
            if quoted:
                d.add('"')
    return d


JSON_PERSON_KEYS = (
    "name",
    "full_name",
    "fullName",
    "customer_name",
    "contact",
    "owner",
    "assignee",
    "created_by",
    "patient_name",
    "display_name",
    "holder",
    "recipient",
    "author",
)


def g_json(w: World) -> Doc:
    """JSON records, flat or nested, pretty or compact."""
    n = w.name(titled=0)
    person: list[tuple[str, object, str]] = []
    if w.chance(0.2):
        person += [("first_name", n.first, PERSON), ("last_name", n.last, PERSON)]
    else:
        person.append((w.choice(JSON_PERSON_KEYS), n.text, PERSON))
    if w.chance(0.6):
        person.append(("email", w.email(n), ""))
    if w.chance(0.4):
        person.append(("phone", w.phone(), ""))
    if w.chance(0.5):
        if w.chance(0.6):
            key = w.choice(
                (
                    "address",
                    "shipping_address",
                    "billing_address",
                    "addr",
                    "street",
                    "home_address",
                    "addressLine1",
                    "location",
                )
            )
            form = "street" if key in ("street", "addressLine1") else "line"
            person.append((key, w.address(form), STREET_ADDRESS))
        else:
            person.append(
                (
                    "address",
                    [
                        ("street", w.address("street"), STREET_ADDRESS),
                        ("city", w.city(), ""),
                        ("postal_code", w.choice(w.pools[w.locale()].postcode), ""),
                        ("country", w.choice(COUNTRIES), ""),
                    ],
                    "",
                )
            )
    other: list[tuple[str, object, str]] = []
    for key, value in (
        ("company", w.company()),
        ("city", w.city()),
        ("status", w.choice(STATUS_WORDS)),
        ("product", w.choice(PRODUCTS)),
        ("country", w.choice(COUNTRIES)),
        ("created_at", w.timestamp()),
        ("request_id", w.code()),
        ("department", w.choice(DEPARTMENTS)),
        ("sku", w.code()),
        ("order_id", w.code()),
        ("tracking_number", w.code()),
        ("version", w.code()),
        ("plan", w.choice(PRODUCTS[-20:])),
        ("note", w.filler()),
    ):
        if w.chance(0.25):
            other.append((key, value, ""))
    if w.chance(0.3):
        other.append(
            (
                "items",
                [
                    ("sku", w.code(), ""),
                    ("name", w.product_line(), ""),
                    ("qty", w.rng.randint(1, 9), ""),
                ],
                "",
            )
        )
    record: list[tuple[str, object, str]] = [
        ("id", w.code() if w.chance(0.5) else int(w.number()), "")
    ]
    if w.chance(0.4):
        record.append((w.choice(("customer", "user", "patient", "contact", "data")), person, ""))
        record += other
    else:
        record += person + other
        w.rng.shuffle(record)
    if w.chance(0.2):
        record = [
            ("event", w.choice(("order.created", "user.updated", "ticket.closed")), ""),
            ("payload", record, ""),
        ]
    d = Doc()
    json_value(w, d, record, 1 if w.chance(0.5) else 0, 1)
    return d


def json_value(w: World, d: Doc, value: object, pretty: int, depth: int, kind: str = "") -> None:
    if isinstance(value, list):
        pad = "\n" + "  " * depth if pretty else ""
        d.add("{")
        for i, (k, v, kd) in enumerate(value):
            d.add(("," if i else "") + (pad if pretty else (" " if i else "")))
            d.add(json.dumps(k) + ": ")
            json_value(w, d, v, pretty, depth + 1, kd)
        d.add(("\n" + "  " * (depth - 1) if pretty else "") + "}")
    elif isinstance(value, int):
        d.add(str(value))
    else:
        text = str(value)
        encoded = json.dumps(text, ensure_ascii=False)[1:-1]
        d.add('"')
        if kind and encoded == text:
            d.ent(text, kind)
        else:
            d.add(encoded)
        d.add('"')


LOG_LEVELS = ("INFO", "WARN", "ERROR", "DEBUG", "TRACE", "WARNING", "FATAL", "info", "error")
HOSTS = ("web-01", "api-3", "db-primary", "worker-7", "ip-10-0-3-17", "edge-fra-2", "node04")
USERNAMES = ("root", "admin", "deploy", "svc_backup", "jenkins", "postgres", "www-data", "ci-bot")


def log_prefix(w: World, d: Doc, style: int) -> None:
    r = w.rng
    if style == 0:
        d.add(w.timestamp() + " " + w.choice(LOG_LEVELS) + " ")
        if w.chance(0.5):
            d.add(f"[{w.choice(SERVICES)}] ")
    elif style == 1:
        d.add(
            f"{w.choice(MONTHS)[:3]} {r.randint(1, 28):2d} {r.randint(0, 23):02d}:"
            f"{r.randint(0, 59):02d}:{r.randint(0, 59):02d} {w.choice(HOSTS)} "
        )
        d.add(
            w.choice(("sshd", "systemd", "kernel", "cron", "nginx", "app"))
            + f"[{r.randint(2, 65000)}]: "
        )
    elif style == 2:
        d.add(
            f"{w.timestamp()[:19].replace('T', ' ')},{r.randint(100, 999)} - {w.choice(SERVICES)} - "
            f"{w.choice(LOG_LEVELS).upper()} - "
        )
    elif style == 3:
        d.add(f"level={w.choice(LOG_LEVELS).lower()} ts={w.timestamp()} ")
    elif style == 4:
        d.add(f"{w.choice(LOG_LEVELS)[0]} {w.timestamp()[11:19]} ")
    else:
        d.add(f"[{w.timestamp()}] [{w.choice(LOG_LEVELS)}] ")


USER_AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.4 Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) Mobile/15E148",
    "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
    "curl/8.4.0",
    "python-requests/2.31.0",
    "Go-http-client/1.1",
    "okhttp/4.12.0",
    "PostmanRuntime/7.36.0",
    "Googlebot/2.1 (+http://www.google.com/bot.html)",
)
LOG_WORDS = (
    "Started",
    "Completed",
    "Processing",
    "Rendered",
    "Redirected",
    "Parameters",
    "Request",
    "Response",
    "Exception",
    "Caused",
    "Connection",
    "Session",
    "Thread",
    "Worker",
    "Job",
    "Task",
    "Queue",
    "Consumer",
    "Producer",
    "Listener",
    "Handler",
    "Scheduler",
    "Retry",
    "Timeout",
    "Shutdown",
    "Startup",
    "Health",
    "Check",
    "Migration",
    "Backup",
    "Snapshot",
    "Index",
    "Cluster",
    "Replica",
    "Leader",
    "Follower",
    "Election",
    "Heartbeat",
    "Lease",
    "Token",
    "Refresh",
    "Login",
    "Logout",
    "Upload",
    "Download",
    "Export",
    "Import",
    "Batch",
    "Chunk",
    "Partition",
    "Offset",
    "Commit",
    "Rollback",
    "Transaction",
    "Lock",
)


_VERBS = (
    "get",
    "set",
    "create",
    "update",
    "delete",
    "handle",
    "process",
    "sync",
    "load",
    "fetch",
    "send",
    "validate",
    "parse",
    "render",
    "refresh",
    "resolve",
    "retry",
)
_NOUNS = (
    "User",
    "Order",
    "Payment",
    "Invoice",
    "Session",
    "Token",
    "Cart",
    "Item",
    "Request",
    "Event",
    "Message",
    "Account",
    "Profile",
    "Report",
    "Shipment",
    "Address",
    "Config",
)


def camel(w: World) -> str:
    """A programming identifier: getUserById, orderCreated, PaymentFailed, iPhone."""
    r = w.rng.randrange(4)
    if r == 0:
        return w.choice(_VERBS) + w.choice(_NOUNS) + w.choice(("", "ById", "s", "Async", "Handler"))
    if r == 1:
        return w.choice(_NOUNS).lower() + w.choice(("Created", "Updated", "Failed", "Id", "Count"))
    if r == 2:
        return w.choice(_NOUNS) + w.choice(("Created", "Service", "Controller", "Event", "Dto"))
    return w.choice(("iPhone", "iPad", "macOS", "eBay", "jQuery", "npm", "gRPC", "kubectl"))


def logger_name(w: World) -> str:
    parts = [w.choice(("com", "org", "app", "io", "svc", "core"))]
    parts += [
        w.choice(
            (
                "acme",
                "billing",
                "payments",
                "auth",
                "orders",
                "api",
                "shipping",
                "users",
                "worker",
                "http",
                "db",
                "cache",
                "notify",
            )
        )
        for _ in range(w.rng.randint(1, 3))
    ]
    if w.chance(0.4):
        parts.append(w.choice(SERVICES))
    return ".".join(parts)


def logfmt(w: World, d: Doc) -> None:
    """key=value pairs, sometimes carrying a name or an address."""
    keys = [
        "msg",
        "user_id",
        "sku",
        "qty",
        "ref",
        "order",
        "latency_ms",
        "status",
        "region",
        "warehouse",
        "tenant",
        "event",
        "handler",
        "attempt",
        "carrier",
        "host",
    ]
    w.rng.shuffle(keys)
    for i, key in enumerate(keys[: w.rng.randint(2, 6)]):
        if i:
            d.add(" ")
        d.add(f"{key}=")
        if key == "msg":
            d.add(
                '"'
                + w.choice(
                    (
                        w.filler(),
                        camel(w) + " " + w.choice(STATUS_WORDS).lower(),
                        f"{w.choice(LOG_WORDS)} {w.choice(LOG_WORDS).lower()}",
                    )
                )
                + '"'
            )
        elif key in ("status", "event", "handler"):
            d.add(
                w.choice((w.choice(STATUS_WORDS).replace(" ", "_"), camel(w), w.choice(LOG_WORDS)))
            )
        elif key in ("warehouse", "region"):
            d.add(w.choice((w.city().replace(" ", "_"), w.code(), "FRA1", "eu-central-1", "LHR-2")))
        elif key == "carrier":
            d.add(w.choice(("UPS", "DHL", "FedEx", "USPS", "GLS", "DPD", "Royal_Mail")))
        elif key == "host":
            d.add(w.choice(HOSTS))
        else:
            d.add(w.code() if w.chance(0.6) else w.number(1, 9999))
    r = w.rng.randrange(10)
    if r == 0:
        d.add(' customer="').person(w.name(titled=0)).add('"')
    elif r == 1:
        d.add(' ship_to="').ent(w.address("line"), STREET_ADDRESS).add('"')
    elif r == 2:
        d.add(" user=").add(w.choice(USERNAMES))


def log_noise(w: World) -> str:
    """A log message with capitalised technical words and identifiers, and no PII."""
    r = w.rng.randrange(25)
    lw = w.choice(LOG_WORDS)
    svc = w.choice(SERVICES)
    if r == 0:
        return (
            f"{w.code()} - - [{w.rng.randint(1, 28)}/{w.choice(MONTHS)[:3]}/2024:10:{w.rng.randint(10, 59)}:01 +0000] "
            f'"GET /api/v2/items/{w.number()} HTTP/1.1" 200 {w.number(100, 99999)} "-" "{w.choice(USER_AGENTS)}"'
        )
    if r == 1:
        return f'Started {w.choice(("GET", "POST", "PUT"))} "/users/{w.number()}" for {w.code()} at {w.timestamp()}'
    if r == 2:
        return f"Processing by {svc.replace('Service', '')}Controller#{w.choice(('index', 'show', 'update'))} as JSON"
    if r == 3:
        return f"Completed 200 OK in {w.number(1, 999)}ms (Views: {w.rng.randint(1, 90)}.{w.rng.randint(0, 9)}ms | ActiveRecord: {w.rng.randint(1, 90)}.2ms)"
    if r == 4:
        return f"Caused by: java.lang.{w.choice(EXCEPTIONS)}: {w.choice(LOG_WORDS)} {w.choice(STATUS_WORDS).lower()}"
    if r == 5:
        return f'FATAL: password authentication failed for user "{w.choice(USERNAMES)}"'
    if r == 6:
        return (
            f"Back-off restarting failed container {svc.lower()} in pod {svc.lower()}-{w.hexid(10)}"
        )
    if r == 7:
        return f"{lw} {w.choice(LOG_WORDS).lower()} {w.choice(('OK', 'FAILED', 'done', 'skipped', 'Succeeded'))} id={w.code()}"
    if r == 8:
        return f"{svc}: {lw} {w.choice(('acquired', 'released', 'expired', 'renewed'))} after {w.number(1, 5000)}ms"
    if r == 9:
        return f"HikariPool-1 - {w.choice(('Starting', 'Start completed', 'Shutdown initiated'))}."
    if r == 10:
        return f"Kafka {lw} {svc} joined group {w.choice(SERVICES).lower()}-consumers generation {w.number(1, 99)}"
    if r == 11:
        return (
            f'user_agent="{w.choice(USER_AGENTS)}" status={w.choice(("200", "302", "404", "500"))}'
        )
    if r == 12:
        return f"Uploaded {w.choice(('Invoice', 'Report', 'Statement', 'Export'))}_{w.number()}.pdf to s3://{w.choice(SERVICES).lower()}-bucket/"
    if r == 13:
        return f"Feature flag {w.choice(('NewCheckout', 'DarkMode', 'FastSearch', 'BetaPricing'))} enabled for {w.rng.randint(1, 100)}%"
    if r == 14:
        return f"{w.choice(('Stripe', 'PayPal', 'Adyen', 'Braintree'))} webhook {w.choice(('charge.succeeded', 'invoice.paid'))} id={w.code()}"
    if r == 15:
        return f"Sending {w.choice(('Welcome', 'Reset Password', 'Order Confirmation', 'Invoice'))} email template={w.hexid(8)}"
    if r == 16:
        return (
            f"{w.choice(LOG_LEVELS)}:root:{lw} {w.choice(HEADINGS).lower()} for tenant {w.code()}"
        )
    if r == 17:
        return f"Region {w.choice(('Frankfurt', 'Dublin', 'Virginia', 'Oregon', 'Mumbai', 'São Paulo'))} latency p99={w.number(5, 900)}ms"
    if r == 18:
        return f"Elasticsearch index {w.choice(('orders', 'users', 'logs'))}-2024.{w.rng.randint(1, 12):02d} Health Yellow"
    if r == 19:
        return f"Cron {w.choice(HEADINGS)} Started; Next Run {w.choice(WEEKDAYS)} {w.rng.randint(0, 23):02d}:00"
    if r == 20:
        return f"Certificate CN={w.choice(('api', 'www', 'auth'))}.{w.choice(w.domains)} expires {w.date()}"
    if r == 21:
        return f"{svc} Listening on 0.0.0.0:{w.number(1024, 65000)} (PID {w.number(100, 99999)})"
    if r == 22:
        return f"{w.choice(('Windows', 'Linux', 'macOS'))} agent {w.code()} Reported {w.choice(('Healthy', 'Offline', 'Degraded'))}"
    if r == 23:
        return f"{w.choice(HEADINGS + LOG_WORDS)}: {w.choice(LOG_WORDS + _NOUNS)} {camel(w)}"
    return f"{lw} {w.choice(('Queue', 'Pipeline', 'Stream'))} {w.choice(STATUS_WORDS)} (retries={w.rng.randint(0, 5)})"


def log_message(w: World, d: Doc) -> None:
    if w.chance(0.3):
        d.add(logger_name(w) + w.choice((" ", ": ", " - ", " | ")))
    if w.chance(0.2):
        logfmt(w, d)
        return
    if w.chance(0.45):
        d.add(log_noise(w))
        return
    r = w.rng.randrange(30)
    if r == 0:
        d.add(f'user login succeeded user_id={w.number()} name="').person(w.name(titled=0)).add('"')
    elif r == 1:
        d.add(
            w.choice(("payment declined for customer '", "refund issued to '", "charge ok for '"))
        )
        d.person(w.name(titled=0)).add(f"' amount={w.rng.randint(1, 999)}.00")
    elif r == 2:
        d.add("shipping label created for ").person(w.name(titled=0)).add(", ")
        d.ent(w.address("line"), STREET_ADDRESS)
    elif r == 3:
        d.add(f"GET /api/v1/orders/{w.number()} 200 {w.rng.randint(1, 900)}ms")
    elif r == 4:
        d.add(f"{w.choice(EXCEPTIONS)}: connection to {w.choice(PRODUCTS[20:40])} timed out")
    elif r == 5:
        d.add(f"request_id={w.code()} trace={w.hexid(16)} status=ok")
    elif r == 6:
        d.add(f"Worker pool started with {w.rng.randint(2, 64)} threads")
    elif r == 7:
        d.add(f"address updated for account {w.number()}: ")
        d.ent(w.address("line"), STREET_ADDRESS)
    elif r == 8:
        d.add(f"Deploying {w.choice(SERVICES)} {w.code()} to ")
        d.add(w.choice(("eu-west-1", "us-east-1", "prod", "staging")))
    elif r == 9:
        d.add("email sent to ").person(w.name(titled=0)).add(f" <{w.email()}>")
    elif r == 10:
        d.add(f"Synced {w.rng.randint(1, 9999)} records from {w.company()} in {w.city()}")
    elif r == 11:
        d.add("audit: role changed by ").person(w.name(titled=0))
        d.add(f" for {w.choice(ROLES).lower()} {w.token(8)}")
    elif r == 12:
        d.add(f"Scheduled job {w.choice(HEADINGS).replace(' ', '')} finished in {w.number(1, 99)}s")
    elif r == 13:
        d.add(
            f"Accepted publickey for {w.choice(USERNAMES)} from {w.code()} port {w.number(1024, 65000)} ssh2"
        )
    elif r == 14:
        d.add(f"Started Session {w.number(1, 9999)} of User {w.choice(USERNAMES)}.")
    elif r == 15:
        d.add(
            f"Order {w.code()} Shipped carrier={w.choice(('UPS', 'DHL', 'FedEx', 'USPS'))} "
            f"tracking={w.code()}"
        )
    elif r == 16:
        d.add(
            f"at com.example.{w.choice(SERVICES)}.handle({w.choice(SERVICES)}.java:{w.number(10, 999)})"
        )
    elif r == 17:
        d.add(f'File "/srv/app/{w.choice(SERVICES).lower()}.py", line {w.number(1, 999)}, in run')
    elif r == 18:
        d.add(
            f"Successfully assigned default/{w.choice(SERVICES).lower()}-{w.hexid(5)} to {w.choice(HOSTS)}"
        )
    elif r == 19:
        d.add(f"SKU {w.code()} {w.product_line()} stock={w.number(0, 999)}")
    elif r == 20:
        d.add(f"Invalid token {w.code()} for client {w.hexid(12)}")
    elif r == 21:
        d.add(f"Cache hit ratio {w.rng.randint(10, 99)}% on node {w.hexid(6)}")
    elif r == 22:
        d.add(f"Connected to {w.choice(PRODUCTS[20:40])} at {w.code()}")
    elif r == 23:
        d.add(f'{w.choice(("customer", "actor", "patient", "owner"))}="')
        d.person(w.name(titled=0)).add(f'" op={w.choice(("update", "delete", "create", "view"))}')
    elif r == 24:
        d.add(f"Received {w.choice(('POST', 'PUT', 'PATCH'))} /v2/customers/{w.number()}/address ")
        d.add('body={"street": "').ent(w.address("street"), STREET_ADDRESS).add('"}')
    elif r == 25:
        d.add(f"Retrying {w.choice(SERVICES)} in {w.number(1, 60)}s ({w.choice(EXCEPTIONS)})")
    elif r == 26:
        d.add(f"{w.choice(HEADINGS)} Report generated for {w.company()} ({w.choice(MONTHS)})")
    elif r == 27:
        d.add(
            f"{w.rng.randint(1, 500)} {w.choice(ITEMS)} reserved at {w.city()} DC, ref {w.code()}"
        )
    else:
        d.add(
            f"{w.choice(SERVICES)} {w.choice(('ready', 'healthy', 'degraded', 'stopped'))} "
            f"version={w.code()}"
        )


def g_log(w: World) -> Doc:
    d = Doc()
    style = w.rng.randrange(6)
    for i in range(w.rng.randint(2, 8)):
        if i:
            d.add("\n")
        log_prefix(w, d, style)
        log_message(w, d)
    return d


def g_ops(w: World) -> Doc:
    """Operational notes: capitalised jargon, IDs and codes, no people, no addresses."""
    d = Doc()
    d.add(w.choice(HEADINGS) + w.choice((":\n", "\n", " - ", ": ")))
    for i in range(w.rng.randint(2, 6)):
        if i:
            d.add(w.choice(("\n", " ", "\n- ", "\n* ")))
        r = w.rng.randrange(16)
        if r == 0:
            d.add(f"Rolled back {w.choice(SERVICES)} to {w.code()}.")
        elif r == 1:
            d.add(f"Failover to {w.city()} region completed at {w.timestamp()[11:16]} UTC.")
        elif r == 2:
            d.add(f"{w.choice(PRODUCTS)} cluster upgraded; {w.choice(EXCEPTIONS)} gone.")
        elif r == 3:
            d.add(f"Ticket {w.code()} linked to {w.company()} outage.")
        elif r == 4:
            d.add(
                f"Maintenance window {w.choice(WEEKDAYS)} {w.choice(MONTHS)} {w.rng.randint(1, 28)}."
            )
        elif r == 5:
            d.add(f"Commit {w.hexid(7)} reverted, see runbook '{w.choice(HEADINGS)}'.")
        elif r == 6:
            s_negative_sentence(w, d)
        elif r == 7:
            d.add(f"Restocked {w.product_line()} at {w.city()} Warehouse.")
        elif r == 8:
            d.add(
                f"{w.choice(('Order', 'PO', 'Shipment', 'Return', 'Invoice'))} {w.code()} "
                f"{w.choice(STATUS_WORDS)}, {w.choice(('carrier', 'via'))} {w.choice(REAL_COMPANIES[-30:])}."
            )
        elif r == 9:
            d.add(f"Key {w.code()} rotated; old key {w.code()} revoked.")
        elif r == 10:
            d.add(f"Build {w.number(100, 99999)} Passed on {w.choice(HOSTS)} ({w.code()}).")
        elif r == 11:
            d.add(
                f"{w.code()} {w.choice(('Closed', 'Reopened', 'Merged', 'Deployed'))} by on-call."
            )
        elif r == 12:
            d.add(
                f"Label {w.code()} printed for Dock {w.rng.randint(1, 20)}, Bay {w.choice('ABCDEF')}."
            )
        elif r == 13:
            items = [f"{w.code()} x{w.rng.randint(1, 20)}" for _ in range(w.rng.randint(2, 4))]
            d.add(
                w.choice(("Picked: ", "Backorder: ", "Restock ", "Returned: "))
                + ", ".join(items)
                + "."
            )
        else:
            d.add(w.filler())
    return d


def g_records(w: World) -> Doc:
    """Order, shipment and inventory records: IDs beside capitalised words."""
    d = Doc()
    sep = w.choice((" | ", "\n", "; ", ", "))
    fields: list[Callable[[], object]] = []
    for key in ("Order", "SKU", "Item", "Qty", "Status", "Carrier", "Tracking", "Warehouse"):
        if w.chance(0.6):
            value = {
                "Order": w.code,
                "SKU": w.code,
                "Item": w.product_line,
                "Qty": lambda: str(w.rng.randint(1, 40)),
                "Status": lambda: w.choice(STATUS_WORDS),
                "Carrier": lambda: w.choice(REAL_COMPANIES[-30:]),
                "Tracking": w.code,
                "Warehouse": w.city,
            }[key]()
            fields.append(functools.partial(d.add, f"{key}: {value}"))
    if w.chance(0.4):
        n = w.name(titled=0.05)
        fields.append(lambda: d.add(w.choice(("Customer: ", "Recipient: ", "Buyer: "))).person(n))
    if w.chance(0.35):
        a = w.address(w.choice(("line", "street")))
        fields.append(lambda: d.add(w.choice(("Ship to: ", "Address: "))).ent(a, STREET_ADDRESS))
    if not fields:
        fields.append(lambda: d.add(w.product_line()))
    for i, f in enumerate(fields):
        if i:
            d.add(sep)
        f()
    return d


def g_letter(w: World) -> Doc:
    """A postal letter or shipping label: names over multi-line addresses."""
    d = Doc()
    r = w.rng.randrange(3)
    if r == 0:
        d.add(w.choice(("Ship to:\n", "SHIP TO\n", "Deliver to:\n", "Recipient:\n", "To:\n")))
        d.person(w.name(titled=0.2)).add("\n")
        if w.chance(0.3):
            d.add(w.company() + "\n")
        d.ent(w.address("lines"), STREET_ADDRESS)
        if w.chance(0.5):
            d.add("\n\n" + w.choice(("From:\n", "Sender:\n", "Return address:\n")))
            d.person(w.name(titled=0)).add("\n").ent(w.address("lines"), STREET_ADDRESS)
        if w.chance(0.5):
            d.add(f"\nTracking: 1Z{w.token(16).upper()}\nWeight: {w.rng.randint(1, 30)} kg")
        return d
    sender = w.name(titled=0)
    d.person(sender).add("\n").ent(w.address("lines"), STREET_ADDRESS).add("\n\n")
    d.add(w.date() + "\n\n")
    if w.chance(0.6):
        d.person(w.name(titled=0.5)).add("\n")
    d.add(w.company() + "\n").ent(w.address("lines"), STREET_ADDRESS).add("\n\n")
    d.add(w.choice(("Re: ", "Subject: ", "RE: ")) + w.choice(HEADINGS) + "\n\n")
    greeting(w, d)
    d.add("\n\n")
    paragraph(w, d, w.rng.randint(1, 3), 0.2, 0.1)
    d.add("\n\n" + w.choice(CLOSINGS) + ",\n\n")
    d.person(sender)
    return d


def g_form(w: World) -> Doc:
    """Key-value forms in many layouts and languages."""
    d = Doc()
    labels = w.rng.randrange(4)
    n = w.name(titled=0)
    if labels == 0:
        pairs: list[tuple[str, str, str]] = [
            ("First name", n.first, PERSON),
            ("Last name", n.last, PERSON),
        ]
    else:
        pairs = [
            (w.choice(("Name", "Full name", "Applicant", "Employee", "Tenant")), n.text, PERSON)
        ]
    if w.chance(0.8):
        pairs.append((w.choice(TICKET_KEYS_ADDRESS), w.address("line"), STREET_ADDRESS))
    if w.chance(0.4):
        pairs += [("City", w.city(), ""), ("Country", w.choice(COUNTRIES), "")]
    if w.chance(0.5):
        pairs.append(("Employer", w.company(), ""))
    if w.chance(0.4):
        pairs.append(("Position", w.job(), ""))
    if w.chance(0.4):
        pairs.append(("Emergency contact", w.name(titled=0).text, PERSON))
    if w.chance(0.4):
        pairs.append(("Date", w.date(), ""))
    if w.chance(0.3):
        pairs.append(("Signature", n.text, PERSON))
    upper = w.chance(0.15)
    sep = w.choice((": ", ":\t", " : ", ": "))
    for i, (key, value, kind) in enumerate(pairs):
        if i:
            d.add("\n")
        d.add((key.upper() if upper else key) + sep)
        if kind:
            d.ent(value, kind)
        else:
            d.add(value)
    return d


def g_prose(w: World) -> Doc:
    d = Doc()
    paragraph(w, d, w.rng.randint(2, 6), 0.35, 0.12)
    return d


def g_negative(w: World) -> Doc:
    d = Doc()
    for i in range(w.rng.randint(2, 6)):
        if i:
            d.add(w.choice((" ", "\n", "\n\n", " ")))
        s_negative_sentence(w, d)
    return d


def g_meeting(w: World) -> Doc:
    d = Doc()
    d.add(w.choice(("Meeting notes", "Minutes", "Standup", "Call notes", "1:1")))
    d.add(f" - {w.date()}\n")
    d.add(w.choice(("Attendees: ", "Present: ", "Participants: ")))
    for i in range(w.rng.randint(2, 5)):
        if i:
            d.add(w.choice((", ", ", ", "; ", " and ")))
        d.person(w.name(w.choice(("full", "full", "first")), titled=0.05))
        if w.chance(0.2):
            d.add(f" ({w.company()})")
    d.add("\n")
    for _ in range(w.rng.randint(1, 4)):
        d.add(w.choice(("- ", "* ", "• ", "")))
        if w.chance(0.5):
            d.add(w.choice(("AI: ", "TODO: ", "Action: ", "")))
            d.person(w.name(w.choice(("first", "full")), titled=0))
            d.add(w.choice((" to ", " will ", " - ")) + w.filler().lower())
        else:
            sentence(w, d)
        d.add("\n")
    return d


GENRES: tuple[tuple[Callable[[World], Doc], int], ...] = (
    (g_email, 16),
    (g_chat, 12),
    (g_ticket, 12),
    (g_clinical, 9),
    (g_csv, 8),
    (g_json, 8),
    (g_log, 9),
    (g_ops, 7),
    (g_records, 5),
    (g_letter, 6),
    (g_form, 6),
    (g_prose, 8),
    (g_negative, 6),
    (g_meeting, 5),
)


def generate(
    seed: int, docs: int, *, pool_size: int = POOL_SIZE
) -> Iterator[tuple[str, list[tuple[int, int, str]]]]:
    """``docs`` synthetic documents with their PERSON / STREET_ADDRESS spans."""
    w = World(seed, pool_size)
    genres = [g for g, _ in GENRES]
    weights = [wt for _, wt in GENRES]
    for _ in range(docs):
        g = w.rng.choices(genres, weights)[0]
        d = g(w)
        yield d.text(), d.spans


# --------------------------------------------------------------------------- training


def train(
    out: Path,
    *,
    seed: int = DEFAULT_SEED,
    docs: int = DEFAULT_DOCS,
    c1: float = 0.05,
    c2: float = 0.01,
    max_iterations: int = 120,
    min_freq: float = 2.0,
    log: Callable[[str], None] = print,
) -> dict[str, float]:
    """Generate a corpus, train the CRF and write it to ``out``; returns figures."""
    t0 = time.perf_counter()
    trainer = pycrfsuite.Trainer(verbose=False)
    n_tokens = 0
    n_chars = 0
    counts = {PERSON: 0, STREET_ADDRESS: 0}
    for text, spans in generate(seed, docs):
        tokens = tokenize(text)
        if not tokens.words:
            continue
        for xseq, yseq in training_windows(tokens, bio_labels(tokens, spans)):
            trainer.append(xseq, yseq)
            n_tokens += len(yseq)
        n_chars += len(text)
        for _, _, kind in spans:
            counts[kind] += 1
    t1 = time.perf_counter()
    log(
        f"corpus: {docs} docs, {n_chars} chars, {n_tokens} tokens, "
        f"{counts[PERSON]} PERSON, {counts[STREET_ADDRESS]} STREET_ADDRESS ({t1 - t0:.1f}s)"
    )
    trainer.set_params(
        {
            "c1": c1,
            "c2": c2,
            "max_iterations": max_iterations,
            "feature.minfreq": min_freq,
            "feature.possible_transitions": True,
        }
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    trainer.train(str(out))
    t2 = time.perf_counter()
    info = trainer.logparser.last_iteration
    loss = float(info.get("loss", 0.0)) if isinstance(info, dict) else 0.0
    log(
        f"trained: {trainer.logparser.iterations[-1]['num'] if trainer.logparser.iterations else 0}"
        f" iterations, loss {loss:.1f}, {t2 - t1:.1f}s; model {out.stat().st_size} bytes -> {out}"
    )
    return {
        "docs": float(docs),
        "tokens": float(n_tokens),
        "seconds": t2 - t0,
        "model_bytes": float(out.stat().st_size),
    }


def evaluate(model: Path, *, seed: int, docs: int, log: Callable[[str], None] = print) -> None:
    """Precision / recall of ``model`` on freshly generated documents (another seed).

    A prediction counts when it has the gold type and covers at least half of the gold
    span (one-to-one); exact-span agreement is reported beside it.
    """
    tagger = EntityTagger.from_file(str(model))
    kinds = (PERSON, STREET_ADDRESS)
    tp = dict.fromkeys(kinds, 0)
    exact = dict.fromkeys(kinds, 0)
    n_gold = dict.fromkeys(kinds, 0)
    n_pred = dict.fromkeys(kinds, 0)
    for text, spans in generate(seed, docs):
        found = [s for s in tagger.spans(text) if s.score >= 0.5]
        for kind in kinds:
            gold = [(s, e) for s, e, k in spans if k == kind]
            pred = [(s.start, s.end) for s in found if s.type == kind]
            n_gold[kind] += len(gold)
            n_pred[kind] += len(pred)
            exact[kind] += len(set(gold) & set(pred))
            used: set[int] = set()
            for gs, ge in gold:
                for j, (ps, pe) in enumerate(pred):
                    if j not in used and min(ge, pe) - max(gs, ps) >= (ge - gs) / 2:
                        used.add(j)
                        break
            tp[kind] += len(used)
    for kind in kinds:
        prec = tp[kind] / max(1, n_pred[kind])
        rec = tp[kind] / max(1, n_gold[kind])
        f1 = 2 * prec * rec / max(1e-9, prec + rec)
        log(
            f"generated held-out {kind}: precision {prec:.3f} recall {rec:.3f} F1 {f1:.3f}"
            f" (exact spans: {exact[kind] / max(1, n_gold[kind]):.3f} of gold)"
        )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--docs", type=int, default=DEFAULT_DOCS)
    parser.add_argument("--max-iterations", type=int, default=120)
    parser.add_argument("--c1", type=float, default=0.05)
    parser.add_argument("--c2", type=float, default=0.01)
    parser.add_argument("--min-freq", type=float, default=2.0)
    parser.add_argument("--eval-docs", type=int, default=500)
    args = parser.parse_args(argv)
    train(
        args.out,
        seed=args.seed,
        docs=args.docs,
        c1=args.c1,
        c2=args.c2,
        min_freq=args.min_freq,
        max_iterations=args.max_iterations,
    )
    if args.eval_docs:
        evaluate(args.out, seed=args.seed + 1, docs=args.eval_docs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
