/**
 * Words the generated histories use: synthetic names, intervention codes, reasons and channels.
 * All short, all free of digits that could look like a CPR number.
 */

/**
 * Intervention codes. KL codes are the concept codes of KL's FHIR code systems (copied from
 * /shared/reference: FFB for the adult social area, LTT for low-threshold child/youth offers); the
 * placements on indsatstrappen's upper steps have no KL concept, so they carry local codes.
 */
export interface InterventionCode {
  code: string;
  display: string;
  system: 'urn:oid:1.2.208.176.2.22' | 'http://fhir.kl.dk/term/CodeSystem/LTT' | 'local';
  legalBasis?: string;
}

const FFB = 'urn:oid:1.2.208.176.2.22' as const;
const LTT = 'http://fhir.kl.dk/term/CodeSystem/LTT' as const;

/** Child and youth interventions by step on indsatstrappen (index 0 = step 1 … index 5 = step 6). */
export const CHILD_INTERVENTIONS_BY_STEP: readonly (readonly InterventionCode[])[] = [
  [
    { code: '8742dc92-2878-4074-b128-b0384c4989c9', display: 'Gruppebaseret behandling med barn/ung', system: LTT },
    { code: 'ca52f015-193e-4d31-9471-7385717dfa44', display: 'Individuel behandling med barn/ung', system: LTT },
    { code: '3459f530-7334-48c4-9037-53bf80df8851', display: 'Gruppebaseret hjælp og støtte', system: FFB },
  ],
  [
    { code: 'fe42f8f4-d516-4bab-b006-12b0cd186603', display: 'Individuel tidsbegrænset socialpædagogisk hjælp og støtte', system: FFB },
    { code: 'f3edac43-d0d6-4cc3-96c7-4658a557257a', display: 'Akut rådgivning, omsorg og støtte', system: FFB },
    { code: 'c86b5c04-7e13-488b-87fd-fb1e30309bb8', display: 'Individuel behandling uden barn/ung', system: LTT },
  ],
  [
    { code: 'bl-familiebehandling', display: 'Familiebehandling', system: 'local' },
    { code: 'bl-kontaktperson', display: 'Fast kontaktperson', system: 'local' },
    { code: 'bl-aflastning', display: 'Aflastning', system: 'local' },
  ],
  [{ code: 'bl-netvaerksanbringelse', display: 'Netværksanbringelse', system: 'local' }],
  [{ code: 'bl-plejefamilie', display: 'Anbringelse i plejefamilie', system: 'local' }],
  [
    { code: 'bl-opholdssted', display: 'Anbringelse på opholdssted', system: 'local' },
    { code: 'bl-doegninstitution', display: 'Anbringelse på døgninstitution', system: 'local' },
  ],
];

/** Adult social interventions (no step: indsatstrappen is the children's ladder). */
export const ADULT_INTERVENTIONS: readonly InterventionCode[] = [
  { code: 'ad7755d2-11bf-468d-958b-2f0c8d9c3742', display: 'Støtte til psykisk trivsel', system: FFB, legalBasis: 'Serviceloven § 85' },
  { code: 'c56634ca-6847-4c50-b5c1-c528c1ffc1d8', display: 'Støtte til etablering i bolig', system: FFB, legalBasis: 'Serviceloven § 85' },
  { code: '05cd5e81-1a3a-4bdd-901b-7ec96c12d990', display: 'Støtte til sociale relationer', system: FFB, legalBasis: 'Serviceloven § 85' },
  { code: 'd473dea2-4f6d-4f36-a8f0-260f0213f50a', display: 'Støtte til administration', system: FFB, legalBasis: 'Serviceloven § 85' },
  { code: '9401777d-bdc5-4f52-9804-63c8cae9a792', display: 'Aktivitets- og samværstilbud', system: FFB, legalBasis: 'Serviceloven § 104' },
  { code: 'a0fb02a2-367c-48bc-bacd-92e49a861a4c', display: 'Beskyttet beskæftigelsestilbud', system: FFB, legalBasis: 'Serviceloven § 103' },
  { code: '25de7444-3919-4dab-b844-8cec6c15f30e', display: 'Midlertidigt botilbud til voksne', system: FFB, legalBasis: 'Serviceloven § 107' },
  { code: '498fe92c-d7f7-41cd-9404-5b38fe113be0', display: 'Almindeligt længerevarende botilbud til voksne', system: FFB, legalBasis: 'Serviceloven § 108' },
];

/** Employment-oriented interventions at the jobcenter. */
export const EMPLOYMENT_INTERVENTIONS: readonly InterventionCode[] = [
  { code: 'cb1169ee-8969-46d3-813d-f0dd555bd838', display: 'Støtte til beskæftigelse', system: FFB },
  { code: '1a2daf63-0510-4bf3-8578-662d4300c965', display: 'Støtte til uddannelse', system: FFB },
  { code: 'c429b7a9-5085-472b-b118-a21ca90f769f', display: 'Praktikforløb', system: FFB },
];

/** Every code the generator may emit, for display lookups (code → display). */
export const INTERVENTION_CODES: readonly InterventionCode[] = [
  ...CHILD_INTERVENTIONS_BY_STEP.flat(),
  ...ADULT_INTERVENTIONS,
  ...EMPLOYMENT_INTERVENTIONS,
];

// Synthetic names: common Danish first names and surnames combined at random (no real person meant).
export const FIRST_NAMES: readonly string[] = [
  'Freja', 'Ida', 'Emma', 'Clara', 'Alma', 'Ella', 'Sofia', 'Laura', 'Karla', 'Agnes', 'Liva', 'Asta',
  'Josefine', 'Maja', 'Mathilde', 'Nora', 'Olivia', 'Signe', 'Cecilie', 'Amalie',
  'William', 'Noah', 'Oscar', 'Lucas', 'Carl', 'Alfred', 'Malthe', 'Emil', 'Valdemar', 'Aksel',
  'Magnus', 'Frederik', 'Victor', 'Elias', 'Mikkel', 'Rasmus', 'Tobias', 'Sebastian', 'Anton', 'Johan',
];
export const MIDDLE_NAMES: readonly string[] = ['Holm', 'Bech', 'Kjær', 'Lund', 'Dal', 'Skov', 'Bak', 'Krog', 'Vang', 'Juul'];
export const SURNAMES: readonly string[] = [
  'Nielsen', 'Jensen', 'Hansen', 'Pedersen', 'Andersen', 'Christensen', 'Larsen', 'Sørensen', 'Rasmussen',
  'Jørgensen', 'Petersen', 'Madsen', 'Kristensen', 'Olsen', 'Thomsen', 'Christiansen', 'Poulsen', 'Johansen',
  'Møller', 'Mortensen', 'Kjeldsen', 'Damgaard', 'Lauridsen', 'Østergaard', 'Brøndum', 'Fogh', 'Kirkegaard',
  'Bundgaard', 'Vestergaard', 'Søgaard',
];

export const NOTIFICATION_REASONS: readonly string[] = [
  'Bekymring for trivsel',
  'Højt skolefravær',
  'Vold i hjemmet',
  'Misbrug i familien',
  'Omsorgssvigt',
  'Selvskadende adfærd',
  'Kriminalitet',
  'Mistrivsel i dagtilbud',
];
export const CONTACT_CHANNELS: readonly string[] = ['telefon', 'digital post', 'e-mail', 'sikker mail', 'personligt fremmøde'];
export const REJECTION_REASONS: readonly string[] = [
  'Uden for målgruppen',
  'Mangelfuld sagsoplysning',
  'Afventer udredning',
  'Borgeren er ikke visiteret',
  'Forkert modtagende enhed',
];
export const PING_PONG_REASONS: readonly string[] = [
  'Retur: behov for social indsats før beskæftigelse',
  'Retur: hører under socialpsykiatrien',
  'Retur: ikke behandlingskrævende',
  'Retur: forkert målgruppe',
];
