-- What a prescriber must check of a patient: allergies (free text; the known
-- classes are recognised by chairside.record.allergies, not stored), a
-- pregnancy (weeks of amenorrhoea), breastfeeding, anticoagulant and
-- antiplatelet treatments in progress, renal and hepatic failure.  Plain
-- columns of the patient row, like its identity; the application validates
-- them (chairside.record.context.Patient), these checks are the last guard.
-- Existing patients get "nothing recorded": no allergy, not pregnant, no
-- treatment, no failure.
ALTER TABLE patients
    ADD COLUMN allergies        text[] NOT NULL DEFAULT '{}' CHECK (cardinality(allergies) <= 30),
    ADD COLUMN pregnancy_weeks  smallint CHECK (pregnancy_weeks BETWEEN 0 AND 45),
    ADD COLUMN breastfeeding    boolean NOT NULL DEFAULT false,
    ADD COLUMN anticoagulant    boolean NOT NULL DEFAULT false,
    ADD COLUMN antiplatelet     boolean NOT NULL DEFAULT false,
    ADD COLUMN renal_failure    text CHECK (renal_failure IN ('moderate', 'severe')),
    ADD COLUMN hepatic_failure  text CHECK (hepatic_failure IN ('moderate', 'severe')),
    ADD CONSTRAINT patients_pregnancy_not_for_sex_m CHECK (pregnancy_weeks IS NULL OR sex IS DISTINCT FROM 'M');
